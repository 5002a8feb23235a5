//! From the command line to a validated run: `args` (clap's view of the flags), `setup` (flags
//! to one [`Setup`]: plan, transport settings, thresholds, threads), `scenario` (fan-out files).
//! Every refusal names the flag or file at fault.

pub mod args;
pub(crate) mod scenario;
pub mod setup;

pub use args::{
    CapacityArgs, Cli, Command, HarOptions, ImportCommand, MergeArgs, OutputFormat, RunArgs,
    TargetArgs,
};
pub use setup::Setup;

/// Parses a duration argument, naming the flag in the error.
pub(crate) fn duration_arg(flag: &str, text: &str) -> anyhow::Result<std::time::Duration> {
    flak_core::plan::parse_duration(text).map_err(|e| anyhow::anyhow!("{flag}: {e}"))
}
