//! The command line, in the conventions of hey and oha (`-n`, `-c`, `-z`, `-q`, `-H`, …).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "flak",
    version,
    about = "Fire concurrent HTTP requests at an endpoint and tell the truth about what came back.",
    after_help = "Examples:\n  flak -n 2000 -c 50 http://127.0.0.1:8081/\n  flak -z 30s -q 500 'http://127.0.0.1:8081/users/{rand:1-100000}'\n  flak -z 10s --fail-if 'p99>250ms' --fail-if 'errors>1%' -o results.json http://127.0.0.1:8081/\n  flak target --listen 127.0.0.1:8081\n\nExit codes: 0 ok, 1 a --fail-if threshold was broken, 2 bad input, 130 interrupted.",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the built-in HTTP target: a small, fast server for calibration, demos and tests.
    Target(TargetArgs),
    /// Merge results files (from threads, processes or machines) exactly and print the report.
    Merge(MergeArgs),
    /// Find the highest rate the server sustains while every --slo holds: raise the rate in
    /// steps, then bisect (every run flag applies; the search sets -q and -z itself).
    Capacity(Box<CapacityArgs>),
    /// Turn a HAR recording or curl command lines into a journey scenario (TOML).
    #[command(subcommand)]
    Import(ImportCommand),
    /// Run a curl command line as a load test: `flak curl 'URL' -H … [-- RUN FLAGS]`.
    Curl {
        /// curl's arguments as copied (without `curl`), then `--` and flak's run flags.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        args: Vec<String>,
    },
    /// Write one self-contained HTML file of a results file (or capacity report): the browser
    /// app with the results inline, which opens from disk and makes no request.
    Report(ReportArgs),
    /// Compare two results files: per percentile, throughput and error rate, base, new, the
    /// change, and whether the latency change is beyond noise (Kolmogorov–Smirnov).
    Compare(CompareArgs),
    /// Many machines on Kubernetes: print an Indexed Job that runs one shard per pod, or
    /// collect and merge a finished Job's shards.
    #[command(subcommand)]
    K8s(K8sCommand),
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The results file to compare against.
    pub base: PathBuf,
    /// The new run's results file.
    pub new: PathBuf,
    /// text (a table), markdown (for a pull-request comment) or json.
    #[arg(long = "output", value_enum, default_value_t = CompareFormat::Text)]
    pub output: CompareFormat,
    /// Exit 1 when the latency changed beyond noise (or the error rate did).
    #[arg(long)]
    pub fail_if_changed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompareFormat {
    Text,
    Markdown,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum K8sCommand {
    /// Print the Indexed Job manifest (YAML) for a sharded run: `flak k8s job --shards 4
    /// --image IMG -z 60s -q 2000 URL | kubectl apply -f -`.
    Job(K8sJobArgs),
    /// Wait for a Job to finish, save each shard's results (its pod log) and merge them.
    Collect(K8sCollectArgs),
}

#[derive(Debug, Args)]
pub struct K8sJobArgs {
    /// Pods, one shard each (the shard count is written in every place that needs it).
    #[arg(long)]
    pub shards: u32,
    /// The image holding flak (see deploy/k8s/Containerfile).
    #[arg(long)]
    pub image: String,
    /// The Job's name.
    #[arg(long, default_value = "flak-load")]
    pub name: String,
    /// How long from now the shards start together (time for pods to be scheduled and pulled).
    #[arg(long, default_value = "60s")]
    pub lead: String,
    /// The port each pod serves --metrics on (annotated for Prometheus scraping).
    #[arg(long, default_value_t = 9464)]
    pub metrics_port: u16,
    /// Every run flag and the URL, as for a run on one machine (not --shard, --start-at,
    /// --output, -o or --metrics, which the Job sets).
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub run: Vec<String>,
}

#[derive(Debug, Args)]
pub struct K8sCollectArgs {
    /// The Job's name.
    #[arg(default_value = "flak-load")]
    pub job: String,
    /// Where to save shard-<i>.json and merged.json.
    #[arg(long, default_value = "flak-results")]
    pub out: PathBuf,
    /// How long to wait for the Job to complete.
    #[arg(long, default_value = "1h")]
    pub timeout: String,
    /// What to print on standard output.
    #[arg(long = "output", value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Exit 1 when the merged run breaks this threshold (repeatable).
    #[arg(long = "fail-if", value_name = "EXPR")]
    pub fail_if: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TargetsOrder {
    RoundRobin,
    Random,
}

// Numbers take `allow_negative_numbers` one by one, so that `-q -5` reaches our own check
// ("rate must be positive") instead of clap's "unexpected argument '-5'", while `-4` and `-6`
// stay flags.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// URL to load; may hold fields expanded per request: {rand:1-100000}, {pick:a,b,c}.
    #[arg(required_unless_present_any = ["targets", "scenario", "har"])]
    pub url: Option<String>,

    /// Number of requests to send (default 200 when no -z).
    #[arg(
        short = 'n',
        long = "requests",
        conflicts_with = "duration",
        allow_negative_numbers = true
    )]
    pub requests: Option<u64>,

    /// Most requests in flight at once (one connection each over HTTP/1.1) [default: 50; with
    /// --concurrency-stages, their peak].
    #[arg(short = 'c', long = "concurrency", allow_negative_numbers = true)]
    pub concurrency: Option<u64>,

    /// Run for this long instead of a count: 10s, 2m, 1h.
    #[arg(short = 'z', long = "duration", allow_hyphen_values = true)]
    pub duration: Option<String>,

    /// Requests per second for the whole run (not per worker); latency then counts from each
    /// request's intended start.
    #[arg(short = 'q', long = "rate", allow_negative_numbers = true)]
    pub rate: Option<f64>,

    /// A rate that changes over time: DURATION:RATE steps, each ramping linearly from the
    /// previous rate (the first from 0), e.g. 30s:1000,2m:1000,30s:0. Sets the run's length;
    /// -c stays the cap on requests in flight.
    #[arg(
        long,
        value_name = "STAGES",
        conflicts_with = "concurrency_stages",
        allow_hyphen_values = true
    )]
    pub rate_stages: Option<String>,

    /// An in-flight limit that changes over time: DURATION:LIMIT steps ramping linearly, e.g.
    /// 30s:200,2m:200,30s:0. Lowering it lets requests in flight finish. Sets the run's length.
    #[arg(long, value_name = "STAGES", allow_hyphen_values = true)]
    pub concurrency_stages: Option<String>,

    /// HTTP method.
    #[arg(short = 'm', long = "method", default_value = "GET")]
    pub method: String,

    /// Request header 'Name: value' (repeatable).
    #[arg(short = 'H', long = "header")]
    pub headers: Vec<String>,

    /// Request body.
    #[arg(short = 'd', long = "body", conflicts_with = "body_file")]
    pub body: Option<String>,

    /// Request body read from a file.
    #[arg(short = 'D', long = "body-file")]
    pub body_file: Option<PathBuf>,

    /// Content-Type header.
    #[arg(short = 'T', long = "content-type")]
    pub content_type: Option<String>,

    /// Basic authentication, user:pass.
    #[arg(short = 'a', long = "auth")]
    pub auth: Option<String>,

    /// Timeout for each whole request; 0 for none.
    #[arg(
        short = 't',
        long = "timeout",
        default_value = "20s",
        allow_hyphen_values = true
    )]
    pub timeout: String,

    /// Timeout for opening a connection (TCP, a proxy's CONNECT, TLS).
    #[arg(long = "connect-timeout", default_value = "10s")]
    pub connect_timeout: String,

    /// Accept any TLS certificate.
    #[arg(long)]
    pub insecure: bool,

    /// Trust the CA certificates in this PEM file instead of the bundled web PKI roots.
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,

    /// Client certificate (PEM) for servers that ask for one (mutual TLS); needs --key.
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,

    /// Private key (PEM) of the --cert certificate.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,

    /// TLS server name to send and verify instead of the URL's host.
    #[arg(long, value_name = "NAME")]
    pub sni: Option<String>,

    /// Send requests for HOST:PORT to HOST2:PORT2 instead, keeping the Host header and TLS
    /// name, as curl does (repeatable; an empty part matches any host or port, or keeps the
    /// request's own; IPv6 in brackets).
    #[arg(long = "connect-to", value_name = "HOST:PORT:HOST2:PORT2")]
    pub connect_to: Vec<String>,

    /// Connect to this unix socket instead of over TCP; the URL still gives Host and path.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["proxy", "connect_to"])]
    pub unix_socket: Option<PathBuf>,

    /// HTTP proxy, http://[user:pass@]host[:port]: plain http goes to it in absolute form,
    /// https (and --http2) through a CONNECT tunnel.
    #[arg(short = 'x', long, value_name = "URL")]
    pub proxy: Option<String>,

    /// Ask for compressed responses (Accept-Encoding: gzip, br, zstd); bytes are counted as
    /// received, never decoded.
    #[arg(long)]
    pub compressed: bool,

    /// Connect over IPv4 only.
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    pub ipv4: bool,

    /// Connect over IPv6 only.
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,

    /// Use HTTP/2 (ALPN over TLS, prior knowledge over plain http).
    #[arg(long)]
    pub http2: bool,

    /// HTTP/2 (or HTTP/3) streams in flight per connection: -c 200 -p 50 opens 4 connections.
    #[arg(
        short = 'p',
        long = "http2-parallel",
        value_name = "N",
        default_value_t = 1
    )]
    pub http2_parallel: u32,
    /// Use HTTP/3 over QUIC (UDP; https URLs only). Groups of -p slots share one connection;
    /// --connect-timeout bounds the QUIC handshake.
    #[arg(long, conflicts_with = "http2")]
    pub http3: bool,

    /// Open a new connection for every request.
    #[arg(long)]
    pub disable_keepalive: bool,

    /// Redirects to follow.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub redirects: u32,

    /// Worker threads (default: one per core).
    #[arg(long, allow_negative_numbers = true)]
    pub threads: Option<usize>,

    /// Keep every worker thread polling its sockets instead of sleeping between events. Costs
    /// a whole core per thread, but the server no longer pays to wake flak up after each
    /// response: more requests/s when the server shares the machine and is the bottleneck.
    #[arg(long)]
    pub busy_poll: bool,

    /// Requests to send before measuring starts.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub warmup: u64,

    /// Requests from a file in vegeta's targets format (METHOD URL, header lines, @body).
    #[arg(long, value_name = "FILE")]
    pub targets: Option<PathBuf>,

    /// A scenario (TOML): a fan-out group (top-level [[request]] tables, sent at once each
    /// iteration) or a journey ([[step]] tables in order, with extract, check, think and a data
    /// file); -n, -z, -q and -c then count iterations.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["targets", "url"])]
    pub scenario: Option<PathBuf>,

    /// A journey's data file (CSV with a header row, or JSON Lines), in place of the scenario's
    /// `data`; its columns fill {data:COLUMN} (with --har: the secrets' placeholders).
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,

    /// Run a HAR recording (DevTools' "Save all as HAR") as a journey, as `flak import har`
    /// makes it.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["targets", "url", "scenario"])]
    pub har: Option<PathBuf>,

    #[command(flatten, next_help_heading = "With --har")]
    pub har_options: HarOptions,

    /// How to walk several targets.
    #[arg(long, value_enum, default_value_t = TargetsOrder::RoundRobin)]
    pub targets_order: TargetsOrder,

    /// Seed for URL templates and random order (default: a fresh one, printed in the JSON).
    #[arg(long)]
    pub seed: Option<u64>,

    /// What to print on standard output.
    #[arg(long = "output", value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// Write the full results file (JSON: mergeable, loadable by the browser app).
    #[arg(short = 'o', long = "output-file", value_name = "FILE")]
    pub output_file: Option<PathBuf>,

    /// Exit 1 when the run breaks this threshold (repeatable): 'p99>250ms', 'errors>1%',
    /// 'rps<1000'; against --baseline, changes: 'p99>+10%', 'rps<-5%'.
    #[arg(long = "fail-if", value_name = "EXPR")]
    pub fail_if: Vec<String>,

    /// A results file the relative thresholds (--fail-if 'p99>+10%') compare with: a CI gate
    /// on regressions against a known-good run.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// How long Ctrl-C waits for in-flight requests before cancelling them.
    #[arg(long, default_value = "2s")]
    pub grace: String,

    /// Run only part I of N (0-based) of the plan, for many machines at once: its share of -n
    /// and -q and a disjoint slice of the request sequence; -c stays per machine. Merge the
    /// results files with `flak merge`.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,

    /// Wait until this moment (RFC 3339, e.g. 2026-11-23T10:00:00Z) before starting, so that
    /// every shard begins together.
    #[arg(long, value_name = "TIME")]
    pub start_at: Option<String>,

    /// Never show the progress bar (nor the live view).
    #[arg(long)]
    pub no_progress: bool,

    /// Never show the live view (requests/s, p50/p99 of the last second, errors) that runs
    /// show when stdout and stderr are terminals and CI is unset; the plain progress bar stays.
    #[arg(long)]
    pub no_tui: bool,

    /// Serve the run's metrics for Prometheus (OpenMetrics text at http://ADDR/metrics) while
    /// it lasts: requests by outcome, status and error kind, in flight, asked, latency histogram;
    /// every metric labelled with run_id and shard.
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<String>,

    /// Keep serving --metrics this long after the run, for a final scrape of the exact totals.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "0s",
        requires = "metrics"
    )]
    pub metrics_linger: String,

    /// Push the same metrics every second to an OpenTelemetry collector over OTLP/HTTP
    /// (http://HOST:4318/v1/metrics); the run never waits for it.
    #[arg(long, value_name = "URL")]
    pub otlp: Option<String>,

    /// The run_id label of --metrics and --otlp (default: the seed in hex, which shards of one
    /// run share when given the same --seed).
    #[arg(long, value_name = "ID")]
    pub run_id: Option<String>,

    /// Watch the run live in the browser app, served by flak itself (--ui, or --ui=ADDR; default
    /// a free loopback port, printed): the same charts as a browser run, and at the end exactly
    /// the results file.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, require_equals = true, default_missing_value = UI_ADDR)]
    pub ui: Option<String>,
}

/// Where `--ui` listens when given no address: loopback only, a free port.
pub const UI_ADDR: &str = "127.0.0.1:0";

#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Address to listen on (port 0 picks a free port; the chosen address is printed).
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub listen: String,

    /// Also serve the browser app on --app-listen, with the headers that make the page
    /// cross-origin isolated: the app built into this binary, or the folder DIR (a dist/).
    #[arg(long, value_name = "DIR", num_args = 0..=1)]
    pub app: Option<Option<PathBuf>>,

    /// Address for --app.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub app_listen: String,

    /// Worker threads for the server (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,

    /// Serve HTTPS (HTTP/2 and HTTP/1.1 by ALPN) with a fresh self-signed certificate for
    /// 127.0.0.1 and localhost; clients need --insecure.
    #[arg(long)]
    pub tls: bool,

    /// HTTP/2 streams the target lets each connection have open at once
    /// (SETTINGS_MAX_CONCURRENT_STREAMS), to see requests wait for a free stream.
    #[arg(long, value_name = "N")]
    pub http2_max_streams: Option<u32>,

    /// Speak HTTP/1.1 only (ALPN offers only http/1.1; no h2c), like a server without HTTP/2.
    #[arg(long, conflicts_with = "http2_max_streams")]
    pub http1_only: bool,
    /// Also serve HTTP/3 on UDP at the same address and port number, with a fresh self-signed
    /// certificate (shared with --tls); clients need --insecure.
    #[arg(long)]
    pub http3: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  flak capacity --slo 'p99<250ms' --slo 'errors<1%' --step 10s -c 1000 http://127.0.0.1:8081/\n\nExit codes: 0 a rate was found, 1 not even the first step met every SLO, 2 bad input, 130 interrupted."
)]
pub struct CapacityArgs {
    /// Objective every step must meet (repeatable), in --fail-if's syntax but met when it
    /// holds: 'p99<250ms', 'errors<1%'.
    #[arg(long = "slo", value_name = "EXPR", required = true)]
    pub slos: Vec<String>,

    /// How long each step runs at its rate.
    #[arg(long, default_value = "10s", allow_hyphen_values = true)]
    pub step: String,

    /// The first step's rate, requests per second; each step that meets every SLO doubles it.
    #[arg(long, default_value_t = 50.0, allow_negative_numbers = true)]
    pub start_rate: f64,

    /// Never ask for more than this many requests per second.
    #[arg(long, allow_negative_numbers = true)]
    pub max_rate: Option<f64>,

    /// Write each step's full results file into this directory (created if missing).
    #[arg(long, value_name = "DIR")]
    pub save_steps: Option<PathBuf>,

    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The results file (`flak -o`, `flak merge -o`, the app's export) or `flak capacity -o`
    /// report to show.
    pub file: PathBuf,

    /// The HTML file to write.
    #[arg(short = 'o', long = "output-file", value_name = "FILE")]
    pub output_file: PathBuf,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Results files to merge.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,

    /// Write the merged results file here.
    #[arg(short = 'o', long = "output-file", value_name = "FILE")]
    pub output_file: Option<PathBuf>,

    /// What to print on standard output.
    #[arg(long = "output", value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// Exit 1 when the merged run breaks this threshold (repeatable), as a run's --fail-if:
    /// a CI job that fans out to many machines gates on the whole load.
    #[arg(long = "fail-if", value_name = "EXPR")]
    pub fail_if: Vec<String>,

    /// Show the merged results in the browser app, served by flak itself (--ui, or --ui=ADDR)
    /// until Ctrl-C.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, require_equals = true, default_missing_value = UI_ADDR)]
    pub ui: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// A HAR file (Chromium's or Firefox's "Save all as HAR") to a journey: one step per group
    /// of requests started together, secrets as {data:…} placeholders unless --keep-secrets.
    Har(ImportHarArgs),
    /// curl command lines (arguments, each a whole line, or standard input) to a journey: one
    /// step per command.
    Curl(ImportCurlArgs),
}

/// How a HAR becomes a journey (`flak import har`, `flak --har`).
#[derive(Debug, Clone, Args)]
pub struct HarOptions {
    /// Keep only requests to this host (host or host:port).
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// Keep only requests whose URL matches this regex.
    #[arg(long, value_name = "REGEX")]
    pub include: Option<String>,
    /// Leave out requests whose URL matches this regex.
    #[arg(long, value_name = "REGEX")]
    pub exclude: Option<String>,
    /// Keep Cookie and Authorization values (otherwise {data:…} placeholders for --data).
    #[arg(long)]
    pub keep_secrets: bool,
    /// Keep the recorded Accept-Encoding headers.
    #[arg(long)]
    pub keep_accept_encoding: bool,
    /// Think times: the recorded gaps between steps, or none.
    #[arg(long, value_enum, value_name = "FROM", default_value_t = ThinkFrom::Recorded)]
    pub think: ThinkFrom,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ThinkFrom {
    Recorded,
    None,
}

#[derive(Debug, Args)]
pub struct ImportHarArgs {
    /// The HAR file.
    pub file: PathBuf,
    #[command(flatten)]
    pub options: HarOptions,
    /// Write the scenario here instead of standard output.
    #[arg(short = 'o', long = "output-file", value_name = "FILE")]
    pub output_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ImportCurlArgs {
    /// curl command lines (each a whole line: curl 'URL' -H …); standard input when none.
    pub lines: Vec<String>,
    /// Write the scenario here instead of standard output.
    #[arg(short = 'o', long = "output-file", value_name = "FILE")]
    pub output_file: Option<PathBuf>,
}
