//! The page's model: what a person typed, what the page shows and every way that changes, as
//! plain data and pure functions, tested natively. It maps its types onto the browser
//! adapters' own (`FetchOptions`, `TimingReading`, stored text); the adapters never see it.

pub mod capacity;
pub mod config;
pub mod export;
pub mod honesty;
pub mod phases;
pub mod recent;
pub mod report;
pub mod scenario;
pub mod state;
