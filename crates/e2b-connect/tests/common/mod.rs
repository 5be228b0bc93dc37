//! A test implementation of `process.Process` and a one-port server that
//! serves it as Connect (our adapter) and gRPC (tonic), like envd does.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use e2b_connect::server::{ConnectRouter, Deadline, envd::process_routes, is_grpc};
use e2b_proto::process::process_event::{DataEvent, EndEvent, Event, StartEvent, data_event};
use e2b_proto::process::process_server::{Process, ProcessServer};
use e2b_proto::process::*;
use futures::{Stream, StreamExt};
use http_body_util::BodyExt;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tonic::{Request, Response, Status};

/// Observable side effects of the test service.
#[derive(Default)]
pub struct Probe {
    pub inputs: AtomicUsize,
    pub streams_dropped: AtomicUsize,
}

/// Behaviour keyed by `cmd`:
/// * `echo`: start{pid 7}, one stdout event per arg, end{exit 0}
/// * `fail-early`: not_found before any event
/// * `fail-late`: start, then internal error
/// * `sleep`: start, then nothing (until the deadline)
/// * `deadline`: start, then a stdout event with the handler's deadline in ms
/// * `big`: start, then stdout of `args[0]` bytes
/// * `stream`: start, then `args[0]` stdout events of `args[1]` bytes each
pub struct TestProcess {
    pub probe: Arc<Probe>,
}

struct DropGuard(Arc<Probe>);
impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.streams_dropped.fetch_add(1, Ordering::SeqCst);
    }
}

fn event(e: Event) -> StartResponse {
    StartResponse { event: Some(ProcessEvent { event: Some(e) }) }
}

fn stdout(data: impl Into<Bytes>) -> Event {
    Event::Data(DataEvent { output: Some(data_event::Output::Stdout(data.into())) })
}

type EventStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

#[tonic::async_trait]
impl Process for TestProcess {
    type StartStream = EventStream<StartResponse>;
    type ConnectStream = EventStream<ConnectResponse>;

    async fn start(&self, request: Request<StartRequest>) -> Result<Response<Self::StartStream>, Status> {
        let deadline = request.extensions().get::<Deadline>().map(|d| d.timeout.as_millis());
        let config = request.into_inner().process.unwrap_or_default();
        let guard = DropGuard(self.probe.clone());
        let start = futures::stream::iter([Ok(event(Event::Start(StartEvent { pid: 7 })))]);
        let rest: EventStream<StartResponse> = match config.cmd.as_str() {
            "echo" => {
                Box::pin(futures::stream::iter(config.args.into_iter().map(|a| Ok(event(stdout(a))))).chain(
                    futures::stream::iter([Ok(event(Event::End(EndEvent {
                        exited: true,
                        status: "exit status 0".into(),
                        ..Default::default()
                    })))]),
                ))
            }
            "fail-early" => return Err(Status::not_found("process not found")),
            "fail-late" => Box::pin(futures::stream::iter([Err(Status::internal("it broke"))])),
            "sleep" => Box::pin(futures::stream::pending()),
            "deadline" => Box::pin(futures::stream::iter([Ok(event(stdout(format!("{deadline:?}"))))])),
            "big" => {
                let n: usize = config.args[0].parse().unwrap();
                Box::pin(futures::stream::iter([Ok(event(stdout(vec![b'x'; n])))]))
            }
            "stream" => {
                let count: usize = config.args[0].parse().unwrap();
                let chunk = Bytes::from(vec![b'x'; config.args[1].parse().unwrap()]);
                Box::pin(futures::stream::iter((0..count).map(move |_| Ok(event(stdout(chunk.clone()))))))
            }
            other => return Err(Status::invalid_argument(format!("unknown test cmd {other}"))),
        };
        let stream = start.chain(rest).map(move |item| {
            let _keep = &guard;
            item
        });
        Ok(Response::new(Box::pin(stream)))
    }

    async fn connect(&self, _: Request<ConnectRequest>) -> Result<Response<Self::ConnectStream>, Status> {
        Err(Status::unimplemented("not in the test"))
    }

    async fn list(&self, request: Request<ListRequest>) -> Result<Response<ListResponse>, Status> {
        let echo = request.metadata().get("x-echo").cloned();
        let mut response = Response::new(ListResponse {
            processes: vec![ProcessInfo {
                config: Some(ProcessConfig {
                    cmd: "/bin/bash".into(),
                    args: vec!["-l".into()],
                    ..Default::default()
                }),
                pid: 42,
                tag: Some(String::new()),
            }],
        });
        if let Some(v) = echo {
            response.metadata_mut().insert("x-echo", v);
        }
        Ok(response)
    }

    async fn update(&self, _: Request<UpdateRequest>) -> Result<Response<UpdateResponse>, Status> {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Ok(Response::new(UpdateResponse {}))
    }

    async fn stream_input(
        &self,
        request: Request<tonic::Streaming<StreamInputRequest>>,
    ) -> Result<Response<StreamInputResponse>, Status> {
        let mut stream = request.into_inner();
        while let Some(message) = stream.message().await? {
            if message.event.is_some() {
                self.probe.inputs.fetch_add(1, Ordering::SeqCst);
            }
        }
        Ok(Response::new(StreamInputResponse {}))
    }

    async fn send_input(&self, _: Request<SendInputRequest>) -> Result<Response<SendInputResponse>, Status> {
        Ok(Response::new(SendInputResponse {}))
    }

    async fn send_signal(
        &self,
        request: Request<SendSignalRequest>,
    ) -> Result<Response<SendSignalResponse>, Status> {
        let r = request.into_inner();
        if r.signal() == Signal::Unspecified {
            return Err(Status::unimplemented("signal not specified"));
        }
        match r.process.and_then(|p| p.selector) {
            Some(process_selector::Selector::Pid(404)) => {
                Err(Status::not_found("process with pid 404 not found"))
            }
            _ => Ok(Response::new(SendSignalResponse {})),
        }
    }

    async fn close_stdin(
        &self,
        _: Request<CloseStdinRequest>,
    ) -> Result<Response<CloseStdinResponse>, Status> {
        Ok(Response::new(CloseStdinResponse {}))
    }
}

/// A running server; dropping it stops accepting.
pub struct TestServer {
    pub addr: SocketAddr,
    pub probe: Arc<Probe>,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves the test service on a loopback port: gRPC via tonic, everything
/// else via `configure(process_routes(...))`.
pub async fn serve_with(configure: impl FnOnce(ConnectRouter) -> ConnectRouter) -> TestServer {
    let probe = Arc::new(Probe::default());
    let service = Arc::new(TestProcess { probe: probe.clone() });
    let connect = configure(process_routes(service.clone()));
    let grpc = ProcessServer::from_arc(service);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let _ = stream.set_nodelay(true);
            let connect = connect.clone();
            let grpc = grpc.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let connect = connect.clone();
                    let mut grpc = grpc.clone();
                    async move {
                        if is_grpc(&req) {
                            let response = tower_service::Service::call(&mut grpc, req).await.unwrap();
                            Ok::<_, std::convert::Infallible>(
                                response.map(|b| b.map_err(Into::into).boxed_unsync()),
                            )
                        } else {
                            Ok(connect.handle(req).await)
                        }
                    }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    TestServer { addr, probe, task }
}

pub async fn serve() -> TestServer {
    serve_with(|r| r).await
}

/// A raw HTTP/1.1 POST, for checking exact wire behaviour.
pub async fn raw_post(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> (http::StatusCode, http::HeaderMap, Bytes) {
    raw_request(addr, http::Method::POST, path, headers, body.into()).await
}

pub async fn raw_request(
    addr: SocketAddr,
    method: http::Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> (http::StatusCode, http::HeaderMap, Bytes) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
    tokio::spawn(conn);
    let mut builder = http::Request::builder().method(method).uri(path).header("host", addr.to_string());
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let response = sender.send_request(builder.body(http_body_util::Full::new(body)).unwrap()).await.unwrap();
    let (parts, body) = response.into_parts();
    (parts.status, parts.headers, body.collect().await.unwrap().to_bytes())
}

/// One Connect envelope: flags, big-endian length, payload.
pub fn envelope(flags: u8, payload: &[u8]) -> Bytes {
    use bytes::BufMut as _;
    let mut b = bytes::BytesMut::new();
    b.put_u8(flags);
    b.put_u32(payload.len() as u32);
    b.put_slice(payload);
    b.freeze()
}
