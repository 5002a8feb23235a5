//! The page's parts, each a function component with its props beside it.

pub mod capacity;
pub mod charts;
pub mod compare;
pub mod form;
pub mod honesty;
pub mod import;
pub mod recent;
pub mod summary;
