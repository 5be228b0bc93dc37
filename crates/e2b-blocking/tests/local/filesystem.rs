//! Filesystem calls: writes from every kind of data, reads in every form,
//! metadata operations and directory watches.

use std::io::{Read as _, Write as _};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use e2b_blocking::{Error, FileType, FilesystemEventType, WriteData, WriteEntry};

use crate::{client, sandbox};

#[test]
fn files_in_and_out() {
    const TEST: &str = "files_in_and_out";
    let Some(client) = client(TEST) else { return };
    let sandbox = sandbox(&client, TEST);
    let files = sandbox.files();

    // Writes from memory, in every form, with every option.
    let info = files
        .write("/home/user/a.txt", "alpha")
        .user("user")
        .request_timeout(Duration::from_secs(30))
        .metadata("source", "e2b-blocking")
        .send()
        .unwrap();
    assert_eq!((info.name.as_str(), info.path.as_str()), ("a.txt", "/home/user/a.txt"));
    assert_eq!(info.file_type, Some(FileType::File));
    let text = String::from("from a String");
    files.write("b.txt", &text).send().unwrap();
    files.write("c.txt", text.clone()).use_octet_stream(false).send().unwrap();
    files.write("d.bin", vec![0u8, 1, 2, 255]).use_octet_stream(true).send().unwrap();
    files.write("e.bin", &[9u8, 8, 7][..]).gzip(true).send().unwrap();
    files.write("f.bin", b"array").send().unwrap();
    files.write("g.bin", Bytes::from_static(b"bytes")).send().unwrap();

    // Writes streamed from a local file and from a reader.
    let mut local = tempfile::NamedTempFile::new().unwrap();
    local.write_all(b"from a local file").unwrap();
    files.write("/tmp/local.txt", WriteData::file(local.path())).send().unwrap();
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let reader = std::io::Cursor::new(big.clone());
    files.write("/tmp/big.bin", WriteData::reader(reader)).gzip(true).send().unwrap();
    let missing = files.write("/tmp/x", WriteData::file("/nonexistent/e2b-blocking")).send();
    assert!(matches!(missing, Err(Error::Io { .. })), "{missing:?}");

    // A batch.
    let written = files
        .write_files([WriteEntry::new("batch/one.txt", "1"), WriteEntry::new("batch/two.txt", "22")])
        .user("user")
        .request_timeout(Duration::from_secs(30))
        .gzip(false)
        .use_octet_stream(false)
        .metadata("batch", "yes")
        .send()
        .unwrap();
    assert_eq!(written.len(), 2);
    assert!(files.write_files(Vec::new()).send().unwrap().is_empty());

    // Reads: text, bytes, and streams (as an iterator and as `Read`).
    assert_eq!(files.read("/home/user/a.txt").text().unwrap(), "alpha");
    assert_eq!(files.read("b.txt").user("user").text().unwrap(), text);
    assert_eq!(files.read("c.txt").request_timeout(Duration::from_secs(30)).text().unwrap(), text);
    assert_eq!(&files.read("d.bin").bytes().unwrap()[..], [0, 1, 2, 255]);
    assert_eq!(&files.read("e.bin").gzip(true).bytes().unwrap()[..], [9, 8, 7]);
    assert_eq!(&files.read("f.bin").bytes().unwrap()[..], b"array");
    assert_eq!(&files.read("g.bin").bytes().unwrap()[..], b"bytes");
    assert_eq!(files.read("/tmp/local.txt").text().unwrap(), "from a local file");
    let mut streamed = Vec::new();
    for chunk in files.read("/tmp/big.bin").idle_timeout(Duration::from_secs(60)).stream().unwrap() {
        streamed.extend_from_slice(&chunk.unwrap());
    }
    assert!(streamed == big, "the streamed file differs ({} bytes)", streamed.len());
    let mut via_read = Vec::new();
    let mut stream = files.read("/tmp/big.bin").gzip(true).stream().unwrap();
    stream.read_to_end(&mut via_read).unwrap();
    assert!(via_read == big, "the file read through Read differs ({} bytes)", via_read.len());
    assert!(stream.next().is_none());
    assert!(matches!(files.read("/home/user/nope").text(), Err(Error::FileNotFound { .. })));
    files.write("/root/secret", "s").user("root").send().unwrap();
    assert_eq!(files.read("/root/secret").user("root").text().unwrap(), "s");

    // Metadata operations.
    let info = files.get_info("/home/user/a.txt").user("user").request_timeout(Duration::from_secs(9)).send();
    let info = info.unwrap();
    assert_eq!((info.size, info.file_type), (5, Some(FileType::File)));
    assert_eq!(info.metadata.unwrap_or_default().get("source").map(String::as_str), Some("e2b-blocking"));
    assert!(
        files.exists("/home/user/a.txt").user("user").request_timeout(Duration::from_secs(9)).send().unwrap()
    );
    assert!(!files.exists("/home/user/nope").send().unwrap());
    assert!(
        files
            .make_dir("/home/user/d1/d2")
            .user("user")
            .request_timeout(Duration::from_secs(9))
            .send()
            .unwrap()
    );
    assert!(!files.make_dir("/home/user/d1/d2").send().unwrap());
    let moved = files.rename("/home/user/a.txt", "/home/user/d1/d2/a.txt").user("user");
    let moved = moved.request_timeout(Duration::from_secs(9)).send().unwrap();
    assert_eq!(moved.path, "/home/user/d1/d2/a.txt");
    let shallow = files.list("/home/user/d1").send().unwrap();
    assert_eq!(shallow.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), ["d2"]);
    let deep =
        files.list("/home/user/d1").depth(2).user("user").request_timeout(Duration::from_secs(9)).send();
    let mut names: Vec<String> = deep.unwrap().into_iter().map(|e| e.path).collect();
    names.sort();
    assert_eq!(names, ["/home/user/d1/d2", "/home/user/d1/d2/a.txt"]);
    assert!(matches!(files.list("/home/user/d1").depth(0).send(), Err(Error::InvalidArgument { .. })));
    files.remove("/home/user/d1").user("user").request_timeout(Duration::from_secs(9)).send().unwrap();
    assert!(!files.exists("/home/user/d1").send().unwrap());
    files.remove("/home/user/d1").send().unwrap();
}

#[test]
fn watching_a_directory() {
    const TEST: &str = "watching_a_directory";
    let Some(client) = client(TEST) else { return };
    let sandbox = sandbox(&client, TEST);
    let files = sandbox.files();
    files.make_dir("/home/user/watched/sub").send().unwrap();

    let seen = Arc::new(AtomicUsize::new(0));
    let exit = Arc::new(Mutex::new(None::<Option<String>>));
    let (seen_by_callback, exit_by_callback) = (seen.clone(), exit.clone());
    let mut watch = files
        .watch_dir("/home/user/watched")
        .recursive(true)
        .include_entry(true)
        .allow_network_mounts(false)
        .user("user")
        // A bound, so that a missing event fails the test instead of hanging it.
        .timeout(Duration::from_secs(120))
        .request_timeout(Duration::from_secs(30))
        .on_event(move |_| {
            seen_by_callback.fetch_add(1, Ordering::SeqCst);
        })
        .on_exit(move |error| *exit_by_callback.lock().unwrap() = Some(error.map(|e| e.to_string())))
        .send()
        .unwrap();

    files.write("/home/user/watched/sub/new.txt", "x").send().unwrap();
    let event = loop {
        let event = watch.next().expect("the watch runs until stopped").unwrap();
        if event.name.ends_with("new.txt") {
            break event;
        }
    };
    assert!(
        matches!(event.event_type, FilesystemEventType::Create | FilesystemEventType::Write),
        "{event:?}"
    );
    assert!(seen.load(Ordering::SeqCst) >= 1);

    watch.stop();
    assert_eq!(*exit.lock().unwrap(), Some(None), "on_exit(None) after stop");
    // What was received before stopping can still be read; then it ends.
    for event in watch.by_ref() {
        event.unwrap();
    }
    assert!(watch.next().is_none());

    // A watch of a missing directory fails to start.
    let missing = files.watch_dir("/home/user/no-such-dir").send();
    assert!(matches!(missing, Err(Error::FileNotFound { .. })), "{missing:?}");
}
