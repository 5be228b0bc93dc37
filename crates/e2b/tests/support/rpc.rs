//! Scripted envd RPCs for the test double: protocol-conformant event
//! sequences (built with the real Connect server adapter from
//! `e2b-connect`), and helpers to read recorded RPC requests.

use std::time::Duration;

use bytes::Bytes;
use e2b_proto::process::process_event::{
    DataEvent, EndEvent, Event, KeepAlive, StartEvent, data_event::Output,
};
use e2b_proto::process::{ProcessEvent, StartResponse};
use futures::Stream;
use serde_json::Value;

use super::fake::Recorded;

pub fn start(pid: u32) -> Event {
    Event::Start(StartEvent { pid })
}

pub fn stdout(data: &[u8]) -> Event {
    Event::Data(DataEvent { output: Some(Output::Stdout(Bytes::copy_from_slice(data))) })
}

pub fn stderr(data: &[u8]) -> Event {
    Event::Data(DataEvent { output: Some(Output::Stderr(Bytes::copy_from_slice(data))) })
}

pub fn pty(data: &[u8]) -> Event {
    Event::Data(DataEvent { output: Some(Output::Pty(Bytes::copy_from_slice(data))) })
}

pub fn keepalive() -> Event {
    Event::Keepalive(KeepAlive {})
}

/// An end event as envd sends it: `error` set iff the exit was not clean.
pub fn end(exit_code: i32) -> Event {
    let status =
        if exit_code == -1 { "signal: killed".to_owned() } else { format!("exit status {exit_code}") };
    Event::End(EndEvent {
        exit_code,
        exited: exit_code != -1,
        error: (exit_code != 0).then(|| status.clone()),
        status,
    })
}

pub fn start_response(event: Event) -> StartResponse {
    StartResponse { event: Some(ProcessEvent { event: Some(event) }) }
}

pub fn connect_response(event: Event) -> e2b_proto::process::ConnectResponse {
    e2b_proto::process::ConnectResponse { event: Some(ProcessEvent { event: Some(event) }) }
}

/// A stream of `items`, each after `pause`.
pub fn paced<T: Send + 'static>(
    items: Vec<Result<T, tonic::Status>>,
    pause: Duration,
) -> impl Stream<Item = Result<T, tonic::Status>> + Send + 'static {
    futures::stream::unfold(items.into_iter(), move |mut items| async move {
        let item = items.next()?;
        tokio::time::sleep(pause).await;
        Some((item, items))
    })
}

/// The recorded requests to one RPC path.
pub fn calls(requests: &[Recorded], path: &str) -> Vec<Recorded> {
    requests.iter().filter(|r| r.path == path).cloned().collect()
}

/// The JSON message of a recorded RPC request (enveloped for streams).
pub fn message(request: &Recorded) -> Value {
    let content_type = request.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    let body = if content_type.starts_with("application/connect+") {
        let length = u32::from_be_bytes(request.body[1..5].try_into().unwrap()) as usize;
        &request.body[5..5 + length]
    } else {
        &request.body[..]
    };
    serde_json::from_slice(body).expect("a JSON message")
}

pub fn header(request: &Recorded, name: &str) -> Option<String> {
    request.headers.get(name).map(|v| v.to_str().unwrap().to_owned())
}
