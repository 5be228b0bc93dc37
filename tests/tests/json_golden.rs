//! Golden tests for the Connect JSON mapping of `e2b-proto`: the wire examples
//! of PROTOCOL.md (sections 5.3 and 6.2) encode byte for byte from our types
//! and decode back to the same values, and the lenient input forms the
//! canonical mapping allows are accepted.

use e2b_proto::filesystem::{
    EntryInfo, EventType, FileType, FilesystemEvent, ListDirRequest, StatResponse, WatchDirResponse,
    watch_dir_response,
};
use e2b_proto::process::process_event::{DataEvent, EndEvent, Event, KeepAlive, StartEvent, data_event};
use e2b_proto::process::{
    ProcessConfig, ProcessEvent, ProcessSelector, Pty, SendSignalRequest, Signal, StartRequest,
    StartResponse, UpdateRequest, process_selector, pty,
};
use e2b_proto::well_known::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// `value` must encode to exactly `json`, and `json` must decode to `value`.
fn golden<T>(value: &T, json: &str)
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    assert_eq!(serde_json::to_string(value).unwrap(), json, "encoding {value:?}");
    assert_eq!(&serde_json::from_str::<T>(json).unwrap(), value, "decoding {json}");
}

fn event(event: Event) -> StartResponse {
    StartResponse { event: Some(ProcessEvent { event: Some(event) }) }
}

#[test]
fn start_request_sends_explicit_false_stdin() {
    let request = StartRequest {
        process: Some(ProcessConfig {
            cmd: "/bin/bash".into(),
            args: vec!["-l".into(), "-c".into(), "echo hi".into()],
            ..Default::default()
        }),
        stdin: Some(false),
        ..Default::default()
    };
    golden(&request, r#"{"process":{"cmd":"/bin/bash","args":["-l","-c","echo hi"]},"stdin":false}"#);
}

#[test]
fn process_events_of_a_successful_run() {
    golden(&event(Event::Start(StartEvent { pid: 312 })), r#"{"event":{"start":{"pid":312}}}"#);
    golden(
        &event(Event::Data(DataEvent { output: Some(data_event::Output::Stdout("hi\n".into())) })),
        r#"{"event":{"data":{"stdout":"aGkK"}}}"#,
    );
    // Exit code 0 is the default and therefore omitted.
    golden(
        &event(Event::End(EndEvent {
            exit_code: 0,
            exited: true,
            status: "exit status 0".into(),
            error: None,
        })),
        r#"{"event":{"end":{"exited":true,"status":"exit status 0"}}}"#,
    );
    golden(&event(Event::Keepalive(KeepAlive {})), r#"{"event":{"keepalive":{}}}"#);
}

#[test]
fn end_events_of_failing_and_killed_processes() {
    golden(
        &event(Event::End(EndEvent {
            exit_code: 2,
            exited: true,
            status: "exit status 2".into(),
            error: Some("exit status 2".into()),
        })),
        r#"{"event":{"end":{"exitCode":2,"exited":true,"status":"exit status 2","error":"exit status 2"}}}"#,
    );
    golden(
        &event(Event::End(EndEvent {
            exit_code: -1,
            exited: false,
            status: "signal: killed".into(),
            error: Some("signal: killed".into()),
        })),
        r#"{"event":{"end":{"exitCode":-1,"status":"signal: killed","error":"signal: killed"}}}"#,
    );
}

#[test]
fn entry_info_has_string_size_enum_names_and_rfc3339_time() {
    let entry = EntryInfo {
        name: "a.txt".into(),
        r#type: FileType::File as i32,
        path: "/home/user/a.txt".into(),
        size: 12,
        mode: 0o644,
        permissions: "-rw-r--r--".into(),
        owner: "user".into(),
        group: "user".into(),
        modified_time: Some(Timestamp { seconds: 1_755_770_400, nanos: 123_000_000 }),
        symlink_target: None,
        metadata: Default::default(),
    };
    golden(
        &StatResponse { entry: Some(entry.clone()) },
        r#"{"entry":{"name":"a.txt","type":"FILE_TYPE_FILE","path":"/home/user/a.txt","size":"12","mode":420,"permissions":"-rw-r--r--","owner":"user","group":"user","modifiedTime":"2025-08-21T10:00:00.123Z"}}"#,
    );

    let link = EntryInfo {
        name: "link".into(),
        r#type: FileType::Directory as i32,
        path: "/home/user/link".into(),
        size: 4,
        mode: 0o755,
        permissions: "Lrwxrwxrwx".into(),
        owner: "root".into(),
        group: "root".into(),
        modified_time: Some(Timestamp { seconds: 1_755_770_400, nanos: 0 }),
        symlink_target: Some("/home/user/dir".into()),
        metadata: [("source".to_string(), "ci".to_string())].into(),
    };
    golden(
        &link,
        r#"{"name":"link","type":"FILE_TYPE_DIRECTORY","path":"/home/user/link","size":"4","mode":493,"permissions":"Lrwxrwxrwx","owner":"root","group":"root","modifiedTime":"2025-08-21T10:00:00Z","symlinkTarget":"/home/user/dir","metadata":{"source":"ci"}}"#,
    );
}

#[test]
fn watch_events_and_empty_messages() {
    golden(
        &WatchDirResponse {
            event: Some(watch_dir_response::Event::Start(watch_dir_response::StartEvent {})),
        },
        r#"{"start":{}}"#,
    );
    golden(
        &WatchDirResponse {
            event: Some(watch_dir_response::Event::Filesystem(FilesystemEvent {
                name: "sub/a.txt".into(),
                r#type: EventType::Write as i32,
                entry: None,
            })),
        },
        r#"{"filesystem":{"name":"sub/a.txt","type":"EVENT_TYPE_WRITE"}}"#,
    );
}

#[test]
fn signals_by_name_selectors_as_oneof() {
    golden(
        &SendSignalRequest {
            process: Some(ProcessSelector { selector: Some(process_selector::Selector::Pid(312)) }),
            signal: Signal::Sigkill as i32,
        },
        r#"{"process":{"pid":312},"signal":"SIGNAL_SIGKILL"}"#,
    );
}

#[test]
fn optional_fields_are_sent_even_when_default() {
    golden(&UpdateRequest { process: None, pty: Some(Pty { size: None }) }, r#"{"pty":{}}"#);
    golden(
        &UpdateRequest { process: None, pty: Some(Pty { size: Some(pty::Size { cols: 80, rows: 24 }) }) },
        r#"{"pty":{"size":{"cols":80,"rows":24}}}"#,
    );
    golden(
        &event(Event::End(EndEvent {
            exit_code: 0,
            exited: true,
            status: String::new(),
            error: Some(String::new()),
        })),
        r#"{"event":{"end":{"exited":true,"error":""}}}"#,
    );
    // Plain proto3 fields at their default are omitted.
    golden(&ListDirRequest { path: String::new(), depth: 0 }, "{}");
}

#[test]
fn lenient_input_forms_are_accepted() {
    // Proto field names, numbers for enums and 64-bit integers, unknown keys.
    let end: EndEvent = serde_json::from_str(r#"{"exit_code":3,"exited":true,"somethingNew":1}"#).unwrap();
    assert_eq!(end.exit_code, 3);
    let signal: SendSignalRequest = serde_json::from_str(r#"{"signal":9}"#).unwrap();
    assert_eq!(signal.signal(), Signal::Sigkill);
    let entry: EntryInfo = serde_json::from_str(r#"{"size":12,"symlink_target":"/x"}"#).unwrap();
    assert_eq!((entry.size, entry.symlink_target.as_deref()), (12, Some("/x")));
    // URL-safe and unpadded base64.
    let data: DataEvent = serde_json::from_str(r#"{"stdout":"-_8"}"#).unwrap();
    assert_eq!(data.output, Some(data_event::Output::Stdout(vec![0xfb, 0xff].into())));
    // Timestamps with offsets.
    let entry: EntryInfo = serde_json::from_str(r#"{"modifiedTime":"2025-08-21T12:00:00+02:00"}"#).unwrap();
    assert_eq!(entry.modified_time.unwrap().seconds, 1_755_770_400);
}

#[test]
fn malformed_json_is_an_error_not_a_panic() {
    for bad in [r#"{"signal":"SIGNAL_NOPE"}"#, r#"{"process":{"pid":"x"}}"#, r#"{"process":"#, "[]"] {
        assert!(serde_json::from_str::<SendSignalRequest>(bad).is_err(), "{bad} must be rejected");
    }
}
