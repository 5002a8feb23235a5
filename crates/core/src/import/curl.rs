//! curl command lines, as browsers' "Copy as cURL (bash)" and API docs write them, to
//! [`Recorded`] requests: a bash-style tokenizer, then curl's options.
//!
//! The tokenizer is written here: the shell-splitting crates (shlex, shell-words) read POSIX
//! quotes but not bash's `$'…'` ANSI-C strings, which Chromium writes whenever a value holds a
//! quote or a control character. It reads single quotes, double quotes (with `\"`, `\\`, `\$`,
//! `` \` `` and line continuations), `$'…'` (`\n`, `\t`, `\'`, `\xHH`, `\uHHHH`, octal, …),
//! backslash escapes and backslash-newline continuations outside quotes, `#` comments, and
//! several commands in one text (separated by newlines, `;`, `&&`, `||` or `|`). Nothing is
//! expanded: `$VAR` stays as written.
//!
//! Options: `-X`, `-H`, `-d`/`--data`/`--data-ascii`, `--data-raw`, `--data-binary`,
//! `--data-urlencode`, `--json`, `-G`, `-I`, `-u`, `-b`, `-A`, `-e`, `--url`, `--compressed`,
//! `-k`, `-L`; output-only options (`-s`, `-v`, `-o FILE`, …) are ignored quietly, and any
//! other option is named in a warning, never dropped silently. `@file` data comes back as a
//! file name ([`RecordedBody::File`]) for the front end to read.

use super::{ImportError, Recorded, RecordedBody};

/// What curl command lines ask for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CurlRequests {
    /// One per URL, in order.
    pub requests: Vec<Recorded>,
    /// One line each: an option not understood, or one whose meaning differs in flak.
    pub warnings: Vec<String>,
    /// `-k`: some command accepts any TLS certificate.
    pub insecure: bool,
    /// `-L`: some command follows redirects.
    pub follow_redirects: bool,
    /// `--compressed`: some command asks for compressed answers.
    pub compressed: bool,
}

/// A word, or the end of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(Vec<u8>),
    End,
}

/// Splits text into words and command ends, bash-style. An unbalanced quote is an error naming
/// where it opened.
fn tokenize(text: &str) -> Result<Vec<Token>, ImportError> {
    let b = text.as_bytes();
    let mut tokens = Vec::new();
    let mut word: Vec<u8> = Vec::new();
    let mut in_word = false;
    let mut i = 0;
    let line_col = |at: usize| {
        let before = &b[..at];
        let line = before.iter().filter(|&&c| c == b'\n').count() + 1;
        let col = at
            - before
                .iter()
                .rposition(|&c| c == b'\n')
                .map_or(0, |p| p + 1)
            + 1;
        format!("line {line}, column {col}")
    };
    macro_rules! end_word {
        () => {
            if in_word {
                tokens.push(Token::Word(std::mem::take(&mut word)));
                in_word = false;
            }
        };
    }
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\r' => {
                end_word!();
                i += 1;
            }
            b'\n' | b';' => {
                end_word!();
                tokens.push(Token::End);
                i += 1;
            }
            b'&' | b'|' => {
                end_word!();
                tokens.push(Token::End);
                i += if b.get(i + 1) == Some(&c) { 2 } else { 1 };
            }
            b'#' if !in_word => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'\\' => {
                match b.get(i + 1) {
                    Some(b'\n') => {}
                    Some(b'\r') if b.get(i + 2) == Some(&b'\n') => i += 1,
                    Some(&next) => {
                        word.push(next);
                        in_word = true;
                    }
                    None => {}
                }
                i += 2;
            }
            b'\'' => {
                let open = i;
                let close = b[i + 1..].iter().position(|&c| c == b'\'').ok_or_else(|| {
                    ImportError(format!("unbalanced ' quote opened at {}", line_col(open)))
                })?;
                word.extend_from_slice(&b[i + 1..i + 1 + close]);
                in_word = true;
                i += close + 2;
            }
            b'"' => {
                let open = i;
                i += 1;
                loop {
                    match b.get(i) {
                        None => {
                            return Err(ImportError(format!(
                                "unbalanced \" quote opened at {}",
                                line_col(open)
                            )));
                        }
                        Some(b'"') => break,
                        Some(b'\\') => match b.get(i + 1) {
                            Some(b'\n') => i += 2,
                            Some(&e @ (b'"' | b'\\' | b'$' | b'`')) => {
                                word.push(e);
                                i += 2;
                            }
                            _ => {
                                word.push(b'\\');
                                i += 1;
                            }
                        },
                        Some(&other) => {
                            word.push(other);
                            i += 1;
                        }
                    }
                }
                in_word = true;
                i += 1;
            }
            b'$' if b.get(i + 1) == Some(&b'\'') => {
                let open = i;
                i = ansi_c(b, i + 2, &mut word).ok_or_else(|| {
                    ImportError(format!("unbalanced $' quote opened at {}", line_col(open)))
                })?;
                in_word = true;
            }
            _ => {
                word.push(c);
                in_word = true;
                i += 1;
            }
        }
    }
    if in_word {
        tokens.push(Token::Word(word));
    }
    tokens.push(Token::End);
    Ok(tokens)
}

/// Reads a `$'…'` string from `i` (just after the opening quote) into `out`; returns the index
/// after the closing quote, or `None` when it never closes.
fn ansi_c(b: &[u8], mut i: usize, out: &mut Vec<u8>) -> Option<usize> {
    let hex =
        |s: &[u8]| -> Option<u32> { u32::from_str_radix(std::str::from_utf8(s).ok()?, 16).ok() };
    loop {
        match *b.get(i)? {
            b'\'' => return Some(i + 1),
            b'\\' => {
                let e = *b.get(i + 1)?;
                i += 2;
                match e {
                    b'n' => out.push(b'\n'),
                    b't' => out.push(b'\t'),
                    b'r' => out.push(b'\r'),
                    b'a' => out.push(7),
                    b'b' => out.push(8),
                    b'e' | b'E' => out.push(27),
                    b'f' => out.push(12),
                    b'v' => out.push(11),
                    b'\\' | b'\'' | b'"' | b'?' => out.push(e),
                    b'c' => {
                        let c = *b.get(i)?;
                        out.push(c & 0x1f);
                        i += 1;
                    }
                    b'x' => {
                        let n = b[i..]
                            .iter()
                            .take(2)
                            .take_while(|c| c.is_ascii_hexdigit())
                            .count();
                        if n == 0 {
                            out.extend_from_slice(b"\\x");
                        } else {
                            out.push(hex(&b[i..i + n])? as u8);
                            i += n;
                        }
                    }
                    b'u' | b'U' => {
                        let max = if e == b'u' { 4 } else { 8 };
                        let n = b[i..]
                            .iter()
                            .take(max)
                            .take_while(|c| c.is_ascii_hexdigit())
                            .count();
                        if n == 0 {
                            out.push(b'\\');
                            out.push(e);
                        } else {
                            let ch = char::from_u32(hex(&b[i..i + n])?).unwrap_or('\u{FFFD}');
                            let mut buf = [0; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                            i += n;
                        }
                    }
                    b'0'..=b'7' => {
                        let mut v: u32 = u32::from(e - b'0');
                        let mut n = 1;
                        while n < 3 && b.get(i).is_some_and(|c| (b'0'..=b'7').contains(c)) {
                            v = v * 8 + u32::from(b[i] - b'0');
                            i += 1;
                            n += 1;
                        }
                        out.push((v & 0xff) as u8);
                    }
                    other => {
                        out.push(b'\\');
                        out.push(other);
                    }
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
}

/// Options that print or save what curl got: they mean nothing to a load test.
const QUIET_FLAGS: &[&str] = &[
    "-s",
    "--silent",
    "-S",
    "--show-error",
    "-v",
    "--verbose",
    "-i",
    "--include",
    "-f",
    "--fail",
    "--fail-with-body",
    "-#",
    "--progress-bar",
    "--no-progress-meter",
    "-N",
    "--no-buffer",
    "-O",
    "--remote-name",
    "-J",
    "--remote-header-name",
];
const QUIET_WITH_VALUE: &[&str] = &[
    "-o",
    "--output",
    "-w",
    "--write-out",
    "-D",
    "--dump-header",
    "--trace",
    "--trace-ascii",
    "--stderr",
];

/// Options flak's import does not use that take a value: named in a warning, and their value
/// skipped (never taken for a URL).
const OTHER_WITH_VALUE: &[&str] = &[
    "--retry",
    "--retry-delay",
    "--retry-max-time",
    "-m",
    "--max-time",
    "--connect-timeout",
    "--limit-rate",
    "-x",
    "--proxy",
    "-U",
    "--proxy-user",
    "--noproxy",
    "--cacert",
    "--capath",
    "-E",
    "--cert",
    "--key",
    "--cert-type",
    "--key-type",
    "--pass",
    "--resolve",
    "--connect-to",
    "-r",
    "--range",
    "-T",
    "--upload-file",
    "-F",
    "--form",
    "--form-string",
    "--max-redirs",
    "--interface",
    "-c",
    "--cookie-jar",
    "-K",
    "--config",
    "-Y",
    "--speed-limit",
    "-y",
    "--speed-time",
    "-z",
    "--time-cond",
    "--oauth2-bearer",
    "-C",
    "--continue-at",
    "--unix-socket",
    "--abstract-unix-socket",
    "--tls-max",
    "--ciphers",
    "--dns-servers",
    "--expect100-timeout",
    "--keepalive-time",
    "--local-port",
    "--aws-sigv4",
    "--variable",
    "--url-query",
    "--request-target",
    "--proto",
    "--proto-redir",
    "-Q",
    "--quote",
    "--max-filesize",
    "--user-agent-file",
    "-t",
    "--telnet-option",
    "--parallel-max",
    "--happy-eyeballs-timeout-ms",
    "--preproxy",
    "--proxy-header",
    "--sasl-authzid",
];

/// One command's state as its options are read.
#[derive(Default)]
struct Command {
    urls: Vec<String>,
    method: Option<String>,
    headers: Vec<(String, String)>,
    data: Vec<Data>,
    json: bool,
    get: bool,
    head: bool,
}

enum Data {
    Text(String),
    File(String),
}

/// Reads curl command lines (one or more). An error is one line naming the command (1-based)
/// and the argument at fault.
pub fn parse(text: &str) -> Result<CurlRequests, ImportError> {
    let tokens = tokenize(text)?;
    let mut out = CurlRequests::default();
    let mut words: Vec<String> = Vec::new();
    let mut n = 0;
    for token in tokens {
        match token {
            Token::Word(w) => {
                let word = match String::from_utf8(w) {
                    Ok(s) => s,
                    Err(e) => {
                        out.warnings.push(format!(
                            "command {}: an argument is not UTF-8 text; invalid bytes became U+FFFD",
                            n + 1
                        ));
                        String::from_utf8_lossy(e.as_bytes()).into_owned()
                    }
                };
                words.push(word);
            }
            Token::End => {
                if !words.is_empty() {
                    n += 1;
                    command(n, &std::mem::take(&mut words), &mut out)?;
                }
            }
        }
    }
    if out.requests.is_empty() {
        return Err(ImportError("no curl command given".into()));
    }
    Ok(out)
}

/// Reads the arguments of a command (without `curl`), as `flak curl …` is given them.
pub fn parse_args(args: &[String]) -> Result<CurlRequests, ImportError> {
    let mut words = vec!["curl".to_string()];
    words.extend(args.iter().cloned());
    let mut out = CurlRequests::default();
    command(1, &words, &mut out)?;
    Ok(out)
}

fn command(n: usize, words: &[String], out: &mut CurlRequests) -> Result<(), ImportError> {
    let err = |m: String| ImportError(format!("command {n}: {m}"));
    let program = words[0].rsplit(['/', '\\']).next().unwrap_or("");
    if !program.eq_ignore_ascii_case("curl") && !program.eq_ignore_ascii_case("curl.exe") {
        let shown: String = words[0].chars().take(40).collect();
        return Err(err(format!("{shown:?} is not a curl command")));
    }
    let mut cmd = Command::default();
    let mut i = 1;
    let mut only_urls = false;
    while i < words.len() {
        let word = &words[i];
        i += 1;
        if only_urls || !word.starts_with('-') || word == "-" {
            cmd.urls.push(word.clone());
            continue;
        }
        if word == "--" {
            only_urls = true;
            continue;
        }
        // `-XPOST`, `-H'a: b'`: a short option with its value attached; `-sSL`: several flags.
        let short = 1 + word[1..].chars().next().map_or(0, char::len_utf8);
        let (opt, attached) = if !word.starts_with("--") && word.len() > short {
            let (o, rest) = word.split_at(short);
            if takes_value(o) {
                (o.to_string(), Some(rest.to_string()))
            } else {
                for c in rest.chars() {
                    let flag = format!("-{c}");
                    if takes_value(&flag) {
                        return Err(err(format!(
                            "{}: -{c} takes a value; give it separately",
                            show(word)
                        )));
                    }
                    apply_flag(&flag, &mut cmd, out, &err)?;
                }
                (o.to_string(), None)
            }
        } else {
            (word.clone(), None)
        };
        if takes_value(&opt) {
            let value = match attached {
                Some(v) => v,
                None => {
                    let v = words
                        .get(i)
                        .cloned()
                        .ok_or_else(|| err(format!("{} needs a value", show(&opt))))?;
                    i += 1;
                    v
                }
            };
            apply_value(&opt, value, &mut cmd, out, &err)?;
        } else {
            apply_flag(&opt, &mut cmd, out, &err)?;
        }
    }
    finish(n, cmd, out)
}

fn takes_value(opt: &str) -> bool {
    matches!(
        opt,
        "-X" | "--request"
            | "-H"
            | "--header"
            | "-d"
            | "--data"
            | "--data-ascii"
            | "--data-raw"
            | "--data-binary"
            | "--data-urlencode"
            | "--json"
            | "-u"
            | "--user"
            | "-b"
            | "--cookie"
            | "-A"
            | "--user-agent"
            | "-e"
            | "--referer"
            | "--url"
    ) || QUIET_WITH_VALUE.contains(&opt)
        || OTHER_WITH_VALUE.contains(&opt)
}

fn apply_flag(
    opt: &str,
    cmd: &mut Command,
    out: &mut CurlRequests,
    err: &impl Fn(String) -> ImportError,
) -> Result<(), ImportError> {
    match opt {
        "--compressed" => out.compressed = true,
        "-k" | "--insecure" => out.insecure = true,
        "-L" | "--location" => out.follow_redirects = true,
        "-G" | "--get" => cmd.get = true,
        "-I" | "--head" => cmd.head = true,
        _ if QUIET_FLAGS.contains(&opt) => {}
        _ if opt.starts_with('-') => out.warnings.push(
            err(format!(
                "{}: an option flak's import does not know; ignored",
                show(opt)
            ))
            .0,
        ),
        _ => {}
    }
    Ok(())
}

fn apply_value(
    opt: &str,
    value: String,
    cmd: &mut Command,
    out: &mut CurlRequests,
    err: &impl Fn(String) -> ImportError,
) -> Result<(), ImportError> {
    match opt {
        "-X" | "--request" => cmd.method = Some(value),
        "-H" | "--header" => {
            // `Name;` sends an empty header; `Name:` (nothing after) removes one, as in curl.
            if let Some(name) = value.strip_suffix(';').filter(|n| !n.contains(':')) {
                cmd.headers.push((name.trim().to_string(), String::new()));
            } else {
                let (name, v) = value
                    .split_once(':')
                    .ok_or_else(|| err(format!("-H {value:?}: expected 'Name: value'")))?;
                let (name, v) = (name.trim(), v.trim());
                cmd.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
                if !v.is_empty() {
                    cmd.headers.push((name.to_string(), v.to_string()));
                }
            }
        }
        "-d" | "--data" | "--data-ascii" | "--data-binary" | "--json" => {
            if opt == "--json" {
                cmd.json = true;
            }
            match value.strip_prefix('@') {
                Some("-") => {
                    return Err(err(format!(
                        "{opt} @-: data from standard input cannot be replayed; save it to a file and give @FILE"
                    )));
                }
                Some(file) if !file.is_empty() => {
                    if matches!(opt, "-d" | "--data" | "--data-ascii") {
                        out.warnings.push(
                            err(format!(
                                "{opt} @{}: sent as the file is (curl would strip its newlines; --data-binary keeps them)",
                                show(file)
                            ))
                            .0,
                        );
                    }
                    cmd.data.push(Data::File(file.to_string()));
                }
                _ => cmd.data.push(Data::Text(value)),
            }
        }
        "--data-raw" => cmd.data.push(Data::Text(value)),
        "--data-urlencode" => {
            let encoded = match value.split_once('=') {
                Some((name, content)) if !name.is_empty() => {
                    format!("{name}={}", url_encode(content))
                }
                Some((_, content)) => url_encode(content),
                None if value.starts_with('@') || value.contains("@") => {
                    return Err(err(format!(
                        "--data-urlencode {value:?}: reading a file to encode is not supported; encode it into --data-raw"
                    )));
                }
                None => url_encode(&value),
            };
            cmd.data.push(Data::Text(encoded));
        }
        "-u" | "--user" => {
            use base64::Engine as _;
            let creds = if value.contains(':') {
                value
            } else {
                out.warnings.push(
                    err(format!(
                        "-u {value:?}: no password given (curl would ask for it); sent with an empty one"
                    ))
                    .0,
                );
                format!("{value}:")
            };
            let token = base64::engine::general_purpose::STANDARD.encode(creds);
            cmd.headers
                .retain(|(n, _)| !n.eq_ignore_ascii_case("authorization"));
            cmd.headers
                .push(("Authorization".into(), format!("Basic {token}")));
        }
        "-b" | "--cookie" => {
            if value.contains('=') {
                cmd.headers.push(("Cookie".into(), value));
            } else {
                out.warnings.push(
                    err(format!(
                        "-b {value:?}: a cookie file is not read; give the cookies as -b 'name=value'"
                    ))
                    .0,
                );
            }
        }
        "-A" | "--user-agent" => set_header(cmd, "User-Agent", value),
        "-e" | "--referer" => set_header(cmd, "Referer", value),
        "--url" => cmd.urls.push(value),
        _ if OTHER_WITH_VALUE.contains(&opt) => out.warnings.push(
            err(format!(
                "{opt} {value:?}: an option flak's import does not use; ignored"
            ))
            .0,
        ),
        _ => {}
    }
    Ok(())
}

fn set_header(cmd: &mut Command, name: &str, value: String) {
    cmd.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    cmd.headers.push((name.to_string(), value));
}

fn has_header(cmd: &Command, name: &str) -> bool {
    cmd.headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case(name))
}

fn finish(n: usize, mut cmd: Command, out: &mut CurlRequests) -> Result<(), ImportError> {
    let err = |m: String| ImportError(format!("command {n}: {m}"));
    if cmd.urls.is_empty() {
        return Err(err("no URL given".into()));
    }
    let body = match cmd.data.len() {
        0 => None,
        1 if !cmd.get => Some(match cmd.data.remove(0) {
            Data::Text(t) => RecordedBody::Text(t),
            Data::File(f) => RecordedBody::File(f),
        }),
        _ => {
            // curl joins several pieces of data with `&`; a file among them cannot be joined
            // without reading it.
            let mut parts = Vec::new();
            for d in &cmd.data {
                match d {
                    Data::Text(t) => parts.push(t.as_str()),
                    Data::File(f) => {
                        return Err(err(format!(
                            "@{} among several -d options: give the file's data alone, or inline it",
                            show(f)
                        )));
                    }
                }
            }
            Some(RecordedBody::Text(parts.join("&")))
        }
    };
    let (body, query) = if cmd.get {
        match body {
            Some(RecordedBody::Text(t)) => (None, Some(t)),
            Some(RecordedBody::File(f)) => {
                return Err(err(format!(
                    "-G with @{}: put the query in the URL",
                    show(f.as_str())
                )));
            }
            None => (None, None),
        }
    } else {
        (body, None)
    };
    if body.is_some() && !has_header(&cmd, "content-type") {
        let ct = if cmd.json {
            "application/json"
        } else {
            "application/x-www-form-urlencoded"
        };
        cmd.headers.push(("Content-Type".into(), ct.into()));
    }
    if cmd.json && !has_header(&cmd, "accept") {
        cmd.headers
            .push(("Accept".into(), "application/json".into()));
    }
    if out.compressed && !has_header(&cmd, "accept-encoding") {
        cmd.headers
            .push(("Accept-Encoding".into(), "gzip, deflate, br, zstd".into()));
    }
    let method = match (&cmd.method, cmd.head, &body) {
        (Some(m), _, _) => m.clone(),
        (None, true, _) => "HEAD".into(),
        (None, false, Some(_)) => "POST".into(),
        (None, false, None) => "GET".into(),
    };
    for url in &cmd.urls {
        let mut url = if url.contains("://") {
            url.clone()
        } else {
            // curl's guess for a URL without a scheme.
            format!("http://{url}")
        };
        if let Some(q) = &query {
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str(q);
        }
        out.requests.push(Recorded {
            index: out.requests.len(),
            method: method.clone(),
            url,
            headers: cmd.headers.clone(),
            body: body.clone(),
            started_ms: None,
            time_ms: None,
            answered_ms: None,
            page: None,
            status: None,
            size: None,
            allow_origin: None,
        });
    }
    Ok(())
}

/// An argument as it can stand in one line: quoted and escaped when it holds control
/// characters (a newline inside quotes), as written otherwise.
pub fn show(arg: &str) -> String {
    if arg.chars().any(char::is_control) {
        format!("{arg:?}")
    } else {
        arg.to_string()
    }
}

/// Percent-encodes everything but unreserved characters, as `--data-urlencode` does.
fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        tokenize(text)
            .unwrap()
            .into_iter()
            .filter_map(|t| match t {
                Token::Word(w) => Some(String::from_utf8(w).unwrap()),
                Token::End => None,
            })
            .collect()
    }

    #[test]
    fn quotes_and_continuations() {
        assert_eq!(
            words("curl 'a b' \"c \\\"d\\\" $x\" e\\ f \\\n  g"),
            ["curl", "a b", "c \"d\" $x", "e f", "g"]
        );
        assert_eq!(
            words(r"curl $'it\'s\n\x41\u00e9\101\t' 'x'$'y'"),
            ["curl", "it's\nA\u{e9}A\t", "xy"]
        );
        assert_eq!(words("curl a # comment 'b\nc"), ["curl", "a", "c"]);
        // A short option of a character beyond ASCII is named, not cut in half.
        let got = parse("curl -\u{50a}s http://h/").unwrap();
        assert!(
            got.warnings[0].contains("-\u{50a}: an option"),
            "{:?}",
            got.warnings
        );
    }

    #[test]
    fn unbalanced_quotes_name_where_they_opened() {
        for (text, want) in [
            (
                "curl 'http://h/",
                "unbalanced ' quote opened at line 1, column 6",
            ),
            (
                "curl \\\n \"x",
                "unbalanced \" quote opened at line 2, column 2",
            ),
            (
                "curl $'abc\\'",
                "unbalanced $' quote opened at line 1, column 6",
            ),
        ] {
            assert_eq!(parse(text).unwrap_err().0, want);
        }
    }

    #[test]
    fn chromium_copy_as_curl() {
        let text = "curl 'http://127.0.0.1:1/api/items?x=1&y=2' \\\n  -H 'accept: */*' \\\n  -H 'content-type: application/json' \\\n  -H 'sec-ch-ua-mobile: ?0' \\\n  --data-raw $'{\"name\":\"it\\'s\"}'";
        let got = parse(text).unwrap();
        assert!(got.warnings.is_empty(), "{:?}", got.warnings);
        let r = &got.requests[0];
        assert_eq!(r.method, "POST");
        assert_eq!(r.url, "http://127.0.0.1:1/api/items?x=1&y=2");
        assert_eq!(
            r.body,
            Some(RecordedBody::Text("{\"name\":\"it's\"}".into()))
        );
        assert_eq!(r.headers.len(), 3);
    }

    #[test]
    fn options() {
        let got = parse(
            "curl -sSL -XPUT -u me:pw -b 'a=1' -A ua -e http://r/ --json @body.json --url http://h/x --frobnicate\ncurl -G -d q=1 -d r=2 h:8/s ; curl -I http://h/",
        )
        .unwrap();
        assert_eq!(got.requests.len(), 3);
        let put = &got.requests[0];
        assert_eq!(put.method, "PUT");
        assert_eq!(put.body, Some(RecordedBody::File("body.json".into())));
        let header = |r: &Recorded, n: &str| {
            r.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.clone())
        };
        assert_eq!(header(put, "authorization").unwrap(), "Basic bWU6cHc=");
        assert_eq!(header(put, "cookie").unwrap(), "a=1");
        assert_eq!(header(put, "user-agent").unwrap(), "ua");
        assert_eq!(header(put, "content-type").unwrap(), "application/json");
        assert!(got.follow_redirects);
        assert_eq!(
            got.warnings,
            ["command 1: --frobnicate: an option flak's import does not know; ignored"]
        );
        assert_eq!(got.requests[1].url, "http://h:8/s?q=1&r=2");
        assert_eq!(got.requests[1].method, "GET");
        assert_eq!(got.requests[1].body, None);
        assert_eq!(got.requests[2].method, "HEAD");
    }

    #[test]
    fn bad_commands_say_which() {
        for (text, want) in [
            (
                "wget http://h/",
                "command 1: \"wget\" is not a curl command",
            ),
            ("curl http://h/\ncurl -H", "command 2: -H needs a value"),
            ("curl -d x", "command 1: no URL given"),
            ("curl -H nocolon http://h/", "expected 'Name: value'"),
            ("", "no curl command given"),
        ] {
            let e = parse(text).unwrap_err().0;
            assert!(e.contains(want), "{text:?}: {e:?}");
        }
    }
}
