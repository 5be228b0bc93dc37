//! envd, the in-sandbox daemon (work in progress: see issue 4).
