//! zlib through the browser's own `CompressionStream` / `DecompressionStream` ("deflate" is
//! the zlib format, which HdrHistogram's compressed V2 wraps), so the bundle carries no
//! compressor. The core's results file goes through its two halves around these
//! (`Results::unfinished` → `finish`, `Results::parse` → `finish`).

use flak_core::codec::CodecError;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::ReadableWritablePair;

// web-sys has these only behind `--cfg=web_sys_unstable_apis`; the constructor is all flak
// needs, and each is a `{ readable, writable }` pair for `pipeThrough`.
#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(extends = js_sys::Object)]
    type CompressionStream;
    #[wasm_bindgen(constructor, catch)]
    fn new(format: &str) -> Result<CompressionStream, JsValue>;

    #[wasm_bindgen(extends = js_sys::Object)]
    type DecompressionStream;
    #[wasm_bindgen(constructor, catch)]
    fn new(format: &str) -> Result<DecompressionStream, JsValue>;
}

/// `bytes` through a transform stream, read back whole.
fn pipe(bytes: &[u8], transform: &ReadableWritablePair) -> Result<JsFuture, JsValue> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let blob = web_sys::Blob::new_with_u8_array_sequence(&parts)?;
    let stream = blob.stream().pipe_through(transform);
    let response = web_sys::Response::new_with_opt_readable_stream(Some(&stream))?;
    // Made into a future at once, so a stream that fails is a handled rejection even when
    // its result is never awaited.
    Ok(JsFuture::from(response.array_buffer()?))
}

/// Every stream is started before the first is awaited: they all run at once.
async fn run_all(
    inputs: &[&[u8]],
    transform: impl Fn() -> Result<ReadableWritablePair, JsValue>,
) -> Vec<Result<Vec<u8>, String>> {
    let started: Vec<_> = inputs
        .iter()
        .map(|bytes| pipe(bytes, &transform()?))
        .collect();
    let mut out = Vec::with_capacity(started.len());
    for future in started {
        let bytes = match future {
            Ok(future) => future
                .await
                .map(|buffer| js_sys::Uint8Array::new(&buffer).to_vec()),
            Err(e) => Err(e),
        };
        out.push(bytes.map_err(|e| describe(&e)));
    }
    out
}

fn describe(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .unwrap_or_else(|| format!("{e:?}"))
}

/// zlib streams of each input, in order.
pub async fn deflate_all(inputs: &[Vec<u8>]) -> Result<Vec<Vec<u8>>, String> {
    let inputs: Vec<&[u8]> = inputs.iter().map(Vec::as_slice).collect();
    run_all(&inputs, || {
        CompressionStream::new("deflate").map(JsCast::unchecked_into)
    })
    .await
    .into_iter()
    .collect()
}

/// Each zlib stream inflated, or why not, in order.
pub async fn inflate_all(inputs: &[&[u8]]) -> Vec<Result<Vec<u8>, CodecError>> {
    run_all(inputs, || {
        DecompressionStream::new("deflate").map(JsCast::unchecked_into)
    })
    .await
    .into_iter()
    .map(|r| {
        r.map_err(CodecError::Inflate).and_then(|bytes| {
            if bytes.len() > flak_core::codec::MAX_INFLATED {
                Err(CodecError::Inflate(format!(
                    "more than {} MiB",
                    flak_core::codec::MAX_INFLATED >> 20
                )))
            } else {
                Ok(bytes)
            }
        })
    })
    .collect()
}
