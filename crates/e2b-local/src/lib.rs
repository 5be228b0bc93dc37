//! The local E2B-compatible server (work in progress: see issues 6 and 7).
