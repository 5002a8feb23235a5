//! Turns the command line into a validated plan, transport settings and thresholds. Every
//! refusal names the flag or file at fault.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use std::time::SystemTime;

use flak_core::{Body, Load, Order, Plan, RequestSpec, Shard, Stages, Threshold};

use flak_wire::{ConnectTo, Family, Proxy, Route, Target, TlsOptions, TransportConfig};

use super::args::{RunArgs, TargetsOrder};
use super::duration_arg;
use super::scenario::Scenario;

/// Largest body file read into memory.
const MAX_BODY: u64 = 256 << 20;

/// Everything a run needs, validated: what the flags say, in the types the runner takes.
pub struct Setup {
    pub plan: Arc<Plan>,
    pub shard: Shard,
    /// When to start (wall clock), for shards that begin together.
    pub start_at: Option<SystemTime>,
    pub transport: TransportConfig,
    pub thresholds: Vec<Threshold>,
    pub threads: usize,
    pub busy_poll: bool,
    pub grace: Duration,
}

pub fn build(args: &RunArgs) -> anyhow::Result<Setup> {
    build_with(args, crate::import::har_scenario(args)?)
}

/// [`build`] with a scenario made from something else than a scenario file (`--har`, `flak
/// curl`), which takes the place of `--scenario`.
pub fn build_with(args: &RunArgs, made: Option<Scenario>) -> anyhow::Result<Setup> {
    if args.data.is_some() && args.scenario.is_none() && made.is_none() {
        bail!("--data needs a journey: give --scenario FILE or --har FILE");
    }
    let has_scenario = args.scenario.is_some() || made.is_some();
    let mut scenario_load = None;
    let mut journey = None;
    let scenario = match (made, &args.scenario) {
        (Some(made), _) => Some(made),
        (None, Some(path)) => Some(super::scenario::read(path, args.data.as_deref())?),
        (None, None) => None,
    };
    let mut specs = match (&args.url, &args.targets, scenario) {
        (_, _, Some(scenario)) => match scenario {
            Scenario::FanOut { requests, load } => {
                scenario_load = load;
                requests
            }
            Scenario::Journey { plan, load } => {
                scenario_load = load;
                journey = Some(plan);
                Vec::new()
            }
        },
        (Some(_), Some(_), None) => bail!("give a URL or --targets, not both"),
        (Some(url), None, None) => vec![RequestSpec::new(&args.method, url)?],
        (None, Some(path), None) => read_targets(path)?,
        (None, None, None) => bail!("no URL given (see 'flak --help')"),
    };
    let body = match (&args.body, &args.body_file) {
        (Some(text), _) => Some(Body::from(text.as_str())),
        (None, Some(path)) => Some(Body(read_body(path, "-D")?)),
        (None, None) => None,
    };
    let mut extra = Vec::new();
    for line in &args.headers {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| anyhow!("-H {line:?}: expected 'Name: value'"))?;
        extra.push((name.trim().to_string(), value.trim().to_string()));
    }
    if let Some(ct) = &args.content_type {
        extra.push(("Content-Type".into(), ct.clone()));
    }
    if let Some(auth) = &args.auth {
        if !auth.contains(':') {
            bail!("-a {auth:?}: expected user:pass");
        }
        use base64::Engine as _;
        let token = base64::engine::general_purpose::STANDARD.encode(auth);
        extra.push(("Authorization".into(), format!("Basic {token}")));
    }
    let specs_to_finish = match journey.as_deref_mut() {
        Some(plan) => plan.specs_mut(),
        None => specs.as_mut_slice(),
    };
    for spec in specs_to_finish {
        let has = |name: &str| {
            spec.headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name))
        };
        if args.compressed && !has("accept-encoding") {
            *spec = spec.clone().header("Accept-Encoding", "gzip, br, zstd")?;
        }
        for (name, value) in &extra {
            *spec = spec
                .clone()
                .header(name, value)
                .map_err(|e| anyhow!("-H: {e}"))?;
        }
        if let Some(body) = &body {
            if has_scenario {
                bail!("-d/-D: a scenario gives each request its own body");
            }
            spec.body = body.clone();
        }
    }
    if args.http3 {
        // QUIC carries TLS inside it: there is no plain-text HTTP/3 to fall back to.
        let all: &[RequestSpec] = journey.as_deref().map_or(&specs, |p| p.specs());
        if let Some(spec) = all.iter().find(|s| !is_https(s.url.as_str())) {
            bail!(
                "--http3: {} is not an https URL (HTTP/3 runs over QUIC, always with TLS)",
                spec.url.as_str()
            );
        }
    }
    let timeout = match args.timeout.trim() {
        "0" | "none" | "off" => None,
        t => Some(duration_arg("-t/--timeout", t)?),
    };
    let connect_timeout = match args.connect_timeout.trim() {
        "0" | "none" | "off" => None,
        t => Some(duration_arg("--connect-timeout", t)?),
    };
    let shard = match &args.shard {
        Some(text) => parse_shard(text)?,
        None => Shard::WHOLE,
    };
    let load = load(args, scenario_load)?;
    let mut builder = Plan::builder()
        .concurrency(concurrency(args, load.as_ref(), shard)?)
        .rate(args.rate)
        .timeout(timeout)
        .warmup(args.warmup)
        .fan_out(has_scenario && journey.is_none())
        .seed(args.seed.unwrap_or_else(|| fastrand::u64(..)))
        .order(match args.targets_order {
            TargetsOrder::RoundRobin => Order::RoundRobin,
            TargetsOrder::Random => Order::Random,
        });
    for spec in specs {
        builder = builder.request(spec);
    }
    if let Some(plan) = journey {
        builder = builder.journey(*plan);
    }
    builder = match (&args.duration, args.requests, load) {
        (_, _, Some(load)) => builder.load(load),
        (Some(d), _, None) => builder.duration(duration_arg("-z/--duration", d)?),
        (None, Some(n), None) => builder.requests(n),
        (None, None, None) => builder.requests(200),
    };
    let plan = builder.build().map_err(|e| anyhow!("{}", flag_for(&e)))?;
    let thresholds = args
        .fail_if
        .iter()
        .map(|t| Threshold::parse(t).map_err(|e| anyhow!("--fail-if: {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if args.baseline.is_none()
        && let Some(t) = thresholds.iter().find(|t| t.is_relative())
    {
        bail!("--fail-if {t}: a change needs a run to compare with: give --baseline FILE");
    }
    let threads = match args.threads {
        Some(0) => bail!("--threads must be at least 1 (got 0)"),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, usize::from),
    };
    let start_at = args
        .start_at
        .as_deref()
        .map(|t| {
            humantime::parse_rfc3339_weak(t)
                .map_err(|e| anyhow!("--start-at {t:?}: {e} (expected e.g. 2026-11-23T10:00:00Z)"))
        })
        .transpose()?;
    if args.http2_parallel == 0 {
        bail!("-p/--http2-parallel must be at least 1 (got 0)");
    }
    if args.http2_parallel > 1 && !args.http2 && !args.http3 {
        bail!(
            "-p/--http2-parallel {} needs --http2 or --http3 (an HTTP/1.1 connection carries one request at a time)",
            args.http2_parallel
        );
    }
    let tls_options = TlsOptions::load(
        args.cacert.as_deref(),
        args.cert.as_deref(),
        args.key.as_deref(),
        args.sni.as_deref(),
    )
    .map_err(|e| anyhow!(e))?;
    let route = route(args, &plan)?;
    Ok(Setup {
        plan: Arc::new(plan),
        shard,
        start_at,
        transport: TransportConfig {
            http2: args.http2,
            http2_parallel: args.http2_parallel,
            http3: args.http3,
            insecure: args.insecure,
            keepalive: !args.disable_keepalive,
            connect_timeout,
            redirects: args.redirects,
            tls_options,
            route,
        },
        thresholds,
        threads,
        busy_poll: args.busy_poll,
        grace: duration_arg("--grace", &args.grace)?,
    })
}

/// The load's stages, from a flag or the scenario file, refusing flags that contradict them.
fn load(args: &RunArgs, from_scenario: Option<Load>) -> anyhow::Result<Option<Load>> {
    let stages = |flag: &str, text: &str| Stages::parse(text).map_err(|e| anyhow!("{flag}: {e}"));
    let load = match (&args.rate_stages, &args.concurrency_stages, from_scenario) {
        (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => {
            bail!("the scenario file has [[stage]] tables: give stages there or by flag, not both")
        }
        (Some(text), _, None) => Load::Rate(stages("--rate-stages", text)?),
        (_, Some(text), None) => Load::Concurrency(stages("--concurrency-stages", text)?),
        (None, None, Some(load)) => load,
        (None, None, None) => return Ok(None),
    };
    let flag = load.flag();
    let length = flak_core::plan::format_duration(load.stages().duration());
    if args.rate.is_some() {
        bail!("{flag} and -q contradict each other: the stages set the rate over time; drop -q");
    }
    if let Some(d) = &args.duration {
        bail!(
            "{flag} and -z {d} contradict each other: the stages set the run's length ({length}); drop -z"
        );
    }
    if let Some(n) = args.requests {
        bail!(
            "{flag} and -n {n} contradict each other: the stages set the run's length ({length}); drop -n"
        );
    }
    Ok(Some(load))
}

/// The in-flight limit: -c (default 50), or for concurrency stages their peak (this shard's
/// share), which -c may not undercut.
fn concurrency(args: &RunArgs, load: Option<&Load>, shard: Shard) -> anyhow::Result<u64> {
    let Some(Load::Concurrency(stages)) = load else {
        return Ok(args.concurrency.unwrap_or(50));
    };
    let peak = stages.share(shard.count).peak().ceil().max(1.0) as u64;
    match args.concurrency {
        Some(c) if c < peak => bail!(
            "-c {c} is below the concurrency stages' peak of {peak}: the stages set the in-flight limit; drop -c"
        ),
        _ => Ok(peak),
    }
}

/// Where connections go (`--connect-to`, `--unix-socket`, `-x`, `-4`/`-6`), with the hosts
/// of the URLs looked up now, before the clock starts (not those chosen by a template field).
fn route(args: &RunArgs, plan: &Plan) -> anyhow::Result<Route> {
    let connect_to = args
        .connect_to
        .iter()
        .map(|c| ConnectTo::parse(c).map_err(|e| anyhow!(e)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if let Some(path) = &args.unix_socket {
        let meta = std::fs::metadata(path)
            .map_err(|e| anyhow!("--unix-socket {}: {e}", path.display()))?;
        if meta.is_dir() || meta.is_file() {
            bail!("--unix-socket {}: not a socket", path.display());
        }
    }
    let proxy = args
        .proxy
        .as_deref()
        .map(|p| Proxy::parse(p).map_err(|e| anyhow!(e)))
        .transpose()?;
    let mut route = Route {
        family: match (args.ipv4, args.ipv6) {
            (true, _) => Family::V4,
            (_, true) => Family::V6,
            _ => Family::Any,
        },
        connect_to,
        unix_socket: args.unix_socket.clone(),
        proxy,
        ..Route::default()
    };
    let targets = plan
        .requests
        .iter()
        .filter_map(|spec| fixed_origin(spec.url.as_str()))
        .collect::<Vec<_>>();
    route.look_up(&targets).map_err(|e| anyhow!(e))?;
    Ok(route)
}

/// The scheme, host and port of a URL whose fields (if any) are all after the host, so that
/// templated paths are looked up before the run too.
fn fixed_origin(url: &str) -> Option<Target> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.contains('{') {
        return None;
    }
    Target::parse(&format!("{scheme}://{authority}/")).ok()
}

fn is_https(url: &str) -> bool {
    url.get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
}

/// `I/N` with 0 <= I < N.
fn parse_shard(text: &str) -> anyhow::Result<Shard> {
    let bad = || anyhow!("--shard {text:?}: expected I/N with 0 <= I < N, e.g. 0/4");
    let (i, n) = text.split_once('/').ok_or_else(bad)?;
    let (i, n) = (
        i.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    Shard::new(i, n).map_err(|_| bad())
}

/// Prefixes a plan error with the flag a user typed.
fn flag_for(e: &flak_core::PlanError) -> String {
    use flak_core::PlanError as E;
    let flag = match e {
        E::Concurrency(_) | E::ConcurrencyTooHigh(_) => "-c",
        E::Requests(_) => "-n",
        E::Duration(_) => "-z",
        E::Rate(_) => "-q",
        E::Timeout(_)
        | E::TooLong {
            field: "timeout", ..
        } => "-t",
        E::TooLong { .. } => "-z",
        _ => return e.to_string(),
    };
    format!("{flag}: {e}")
}

/// Reads a body file; `what` names where it was given (`-D FILE`, `body file FILE`).
fn read_body(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    let meta = std::fs::metadata(path)
        .with_context(|| format!("{what} {}: cannot read the body file", path.display()))?;
    if !meta.is_file() {
        bail!("{what} {}: not a regular file", path.display());
    }
    if meta.len() > MAX_BODY {
        bail!(
            "{what} {}: body file is larger than 256 MiB",
            path.display()
        );
    }
    std::fs::read(path)
        .with_context(|| format!("{what} {}: cannot read the body file", path.display()))
}

fn read_targets(path: &Path) -> anyhow::Result<Vec<RequestSpec>> {
    let text = std::fs::read(path)
        .with_context(|| format!("--targets {}: cannot read the file", path.display()))?;
    let text = String::from_utf8(text)
        .map_err(|_| anyhow!("--targets {}: not a UTF-8 text file", path.display()))?;
    let targets = flak_core::targets::parse(&text)
        .map_err(|e| anyhow!("--targets {}: {e}", path.display()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    targets
        .into_iter()
        .map(|t| {
            let mut spec = t.spec;
            if let Some(file) = &t.body_file {
                spec.body =
                    Body(read_body(&dir.join(file), "@body file").map_err(|e| {
                        anyhow!("--targets {} line {}: {e:#}", path.display(), t.line)
                    })?);
            }
            Ok(spec)
        })
        .collect()
}
