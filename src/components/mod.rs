//! The page's parts: function components with their props beside them, and plain functions for
//! views without hooks (`markup` holds what the read-only ones are built with).

pub mod capacity;
pub mod charts;
pub mod compare;
pub mod form;
pub mod honesty;
pub mod import;
pub mod markup;
pub mod recent;
pub mod summary;
