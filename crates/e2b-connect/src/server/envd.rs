//! Connect routes for envd's two services, from their tonic trait
//! implementations.
//!
//! ```
//! use std::sync::Arc;
//! # fn demo<P, F>(process: Arc<P>, filesystem: Arc<F>)
//! # where P: e2b_proto::process::process_server::Process, F: e2b_proto::filesystem::filesystem_server::Filesystem {
//! use e2b_connect::server::envd::{filesystem_routes, process_routes};
//! let router = process_routes(process).merge(filesystem_routes(filesystem));
//! # let _ = router; }
//! ```

use std::sync::Arc;

use e2b_proto::filesystem::filesystem_methods as fs;
use e2b_proto::filesystem::filesystem_server::Filesystem;
use e2b_proto::process::process_methods as pm;
use e2b_proto::process::process_server::Process;

use super::ConnectRouter;

/// A handler closure that calls `method` on a shared service.
macro_rules! call {
    ($svc:ident, $method:ident) => {{
        let svc = $svc.clone();
        move |request| {
            let svc = svc.clone();
            async move { svc.$method(request).await }
        }
    }};
}

/// Every `process.Process` method, served by `service`.
pub fn process_routes<T: Process>(service: Arc<T>) -> ConnectRouter {
    ConnectRouter::new()
        .server_streaming(pm::START, call!(service, start))
        .server_streaming(pm::CONNECT, call!(service, connect))
        .unary(pm::LIST, call!(service, list))
        .unary(pm::UPDATE, call!(service, update))
        .client_streaming(pm::STREAM_INPUT, call!(service, stream_input))
        .unary(pm::SEND_INPUT, call!(service, send_input))
        .unary(pm::SEND_SIGNAL, call!(service, send_signal))
        .unary(pm::CLOSE_STDIN, call!(service, close_stdin))
}

/// Every `filesystem.Filesystem` method, served by `service`.
pub fn filesystem_routes<T: Filesystem>(service: Arc<T>) -> ConnectRouter {
    ConnectRouter::new()
        .unary(fs::STAT, call!(service, stat))
        .unary(fs::MAKE_DIR, call!(service, make_dir))
        .unary(fs::MOVE, call!(service, r#move))
        .unary(fs::LIST_DIR, call!(service, list_dir))
        .unary(fs::REMOVE, call!(service, remove))
        .server_streaming(fs::WATCH_DIR, call!(service, watch_dir))
        .unary(fs::CREATE_WATCHER, call!(service, create_watcher))
        .unary(fs::GET_WATCHER_EVENTS, call!(service, get_watcher_events))
        .unary(fs::REMOVE_WATCHER, call!(service, remove_watcher))
}
