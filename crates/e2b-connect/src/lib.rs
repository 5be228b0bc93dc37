//! The Connect protocol over hyper (work in progress: see issue 3).
