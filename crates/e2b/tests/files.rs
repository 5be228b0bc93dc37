//! The HTTP half of the filesystem (`/files`, `/health`) and signed URLs,
//! against the test double's small envd (to be replaced by the real envd
//! once it lands). Requests are checked against `openapi/envd.yml`; the
//! double stores what it receives, so round trips prove both directions.

mod support;

use std::time::Duration;

use bytes::Bytes;
use e2b::{Error, Phase, WriteData, WriteEntry};
use futures::TryStreamExt as _;
use support::fake::{Fake, Recorded, parse_multipart};

fn last(fake: &Fake) -> Recorded {
    fake.requests().pop().expect("a request was sent")
}

fn content_type(request: &Recorded) -> String {
    request.headers.get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

fn stored(fake: &Fake, sandbox: &e2b::Sandbox, path: &str) -> Vec<u8> {
    let state = fake.state();
    state.files[&(sandbox.sandbox_id().to_owned(), path.to_owned())].data.clone()
}

#[tokio::test]
async fn text_round_trip_uses_multipart_with_the_path_in_the_query() {
    let fake = Fake::start().await;
    let sandbox = fake.client().sandbox().create().await.unwrap();
    let info = sandbox.files().write("/home/user/a.txt", "hello ünïcode").await.unwrap();
    assert_eq!((info.name.as_str(), info.path.as_str()), ("a.txt", "/home/user/a.txt"));
    assert_eq!(info.file_type, Some(e2b::FileType::File));
    assert_eq!(info.metadata, None);

    let request = last(&fake);
    assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/files"));
    assert_eq!(request.query, vec![("path".to_string(), "/home/user/a.txt".to_string())]);
    assert_eq!(request.headers["e2b-sandbox-id"], sandbox.sandbox_id());
    assert_eq!(request.headers["e2b-sandbox-port"], "49983");
    let token = fake.state().sandboxes[sandbox.sandbox_id()].token.clone().unwrap();
    assert_eq!(request.headers["x-access-token"], token.as_str());
    assert!(request.headers.get("x-api-key").is_none(), "the API key never goes to envd");
    let parts = parse_multipart(&content_type(&request), request.body.to_vec()).unwrap();
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].name, "file");
    assert_eq!(parts[0].filename.as_deref(), Some("/home/user/a.txt"));
    assert_eq!(parts[0].content_type.as_deref(), Some("text/plain"));
    assert_eq!(parts[0].data, "hello ünïcode".as_bytes());

    assert_eq!(sandbox.files().read("/home/user/a.txt").text().await.unwrap(), "hello ünïcode");
    let request = last(&fake);
    assert_eq!((request.method.as_str(), request.path.as_str()), ("GET", "/files"));
    assert_eq!(request.query, vec![("path".to_string(), "/home/user/a.txt".to_string())]);
    assert_eq!(request.headers["accept-encoding"], "identity");
    assert_eq!(sandbox.files().read("a.txt").bytes().await.unwrap(), Bytes::from("hello ünïcode"));
    fake.assert_no_violations();
}

#[tokio::test]
async fn batches_send_one_part_per_file_named_by_its_path() {
    let fake = Fake::start().await;
    let sandbox = fake.client().sandbox().create().await.unwrap();
    assert!(sandbox.files().write_files(Vec::new()).await.unwrap().is_empty());
    let before = fake.requests().len();
    assert_eq!(before, 1, "an empty batch sends nothing");

    let written = sandbox
        .files()
        .write_files([
            WriteEntry::new("src/main.py", "print(1)"),
            WriteEntry::new("/tmp/data.bin", vec![0u8, 255]),
        ])
        .user("root")
        .await
        .unwrap();
    let paths: Vec<&str> = written.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(paths, ["/root/src/main.py", "/tmp/data.bin"]);
    let request = last(&fake);
    assert_eq!(request.query, vec![("username".to_string(), "root".to_string())]);
    let parts = parse_multipart(&content_type(&request), request.body.to_vec()).unwrap();
    let described: Vec<(Option<&str>, Option<&str>)> =
        parts.iter().map(|p| (p.filename.as_deref(), p.content_type.as_deref())).collect();
    // Content types are guessed from the name (envd ignores them).
    assert_eq!(
        described,
        [
            (Some("src/main.py"), Some("text/plain")),
            (Some("/tmp/data.bin"), Some("application/octet-stream"))
        ]
    );
    assert_eq!(stored(&fake, &sandbox, "/tmp/data.bin"), vec![0u8, 255]);
    fake.assert_no_violations();
}

#[tokio::test]
async fn readers_and_files_stream_as_octet_stream_with_optional_gzip() {
    let fake = Fake::start().await;
    let sandbox = fake.client().sandbox().create().await.unwrap();
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();

    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("big.bin");
    std::fs::write(&local, &big).unwrap();
    sandbox.files().write("/data/big.bin", WriteData::file(&local)).await.unwrap();
    let request = last(&fake);
    assert_eq!(content_type(&request), "application/octet-stream");
    assert!(request.headers.get("content-encoding").is_none());
    assert_eq!(request.query, vec![("path".to_string(), "/data/big.bin".to_string())]);
    assert_eq!(stored(&fake, &sandbox, "/data/big.bin"), big);

    let reader = tokio_util::io::StreamReader::new(futures::stream::iter(
        big.chunks(65_536).map(|c| Ok::<_, std::io::Error>(Bytes::copy_from_slice(c))).collect::<Vec<_>>(),
    ));
    sandbox.files().write("/data/gz.bin", WriteData::reader(reader)).gzip(true).await.unwrap();
    let request = last(&fake);
    assert_eq!(request.headers["content-encoding"], "gzip");
    assert!(request.body.len() < big.len(), "the body travelled compressed");
    assert_eq!(stored(&fake, &sandbox, "/data/gz.bin"), big);

    sandbox.files().write("/data/small.txt", "tiny").gzip(true).await.unwrap();
    assert_eq!(last(&fake).headers["content-encoding"], "gzip");
    sandbox.files().write("/data/raw.bin", vec![1u8, 2, 3]).use_octet_stream(true).await.unwrap();
    assert_eq!(content_type(&last(&fake)), "application/octet-stream");
    let infos = sandbox
        .files()
        .write_files([WriteEntry::new("/a/1", "one"), WriteEntry::new("/a/2", WriteData::file(&local))])
        .await
        .unwrap();
    assert_eq!(infos.len(), 2);
    let octet: Vec<Recorded> = fake.requests().into_iter().rev().take(2).collect();
    assert!(octet.iter().all(|r| content_type(r) == "application/octet-stream"), "one request per file");

    let mut stream = sandbox.files().read("/data/big.bin").gzip(true).stream().await.unwrap();
    assert_eq!(last(&fake).headers["accept-encoding"], "gzip");
    let mut received = Vec::new();
    while let Some(chunk) = stream.try_next().await.unwrap() {
        received.extend_from_slice(&chunk);
    }
    assert_eq!(received, big);
    let mut reader = sandbox.files().read("/data/gz.bin").stream().await.unwrap().into_async_read();
    let mut copy = Vec::new();
    tokio::io::copy(&mut reader, &mut copy).await.unwrap();
    assert_eq!(copy, big);
    fake.assert_no_violations();
}

#[tokio::test]
async fn metadata_travels_as_headers_and_is_validated_first() {
    let fake = Fake::start().await;
    let sandbox = fake.client().sandbox().create().await.unwrap();
    let info = sandbox
        .files()
        .write("/m.txt", "x")
        .metadata("source", "ci run")
        .metadata("Owner", "bot")
        .await
        .unwrap();
    let request = last(&fake);
    assert_eq!(request.headers["x-metadata-source"], "ci run");
    assert_eq!(request.headers["x-metadata-owner"], "bot");
    let metadata = info.metadata.unwrap();
    assert_eq!((metadata["source"].as_str(), metadata["owner"].as_str()), ("ci run", "bot"));

    let sent = fake.requests().len();
    for (key, value) in [("bad key", "v"), ("k", "tab\t"), ("", "v"), ("k", "ü")] {
        let err = sandbox.files().write("/m.txt", "x").metadata(key, value).await.unwrap_err();
        assert!(
            matches!(err, Error::InvalidArgument { stage, .. } if stage.phase == Phase::Validate),
            "{err}"
        );
    }
    assert_eq!(fake.requests().len(), sent);
    fake.assert_no_violations();
}

#[tokio::test]
async fn older_envds_get_what_they_understand() {
    let fake = Fake::start().await;
    fake.state().envd_version = "0.6.0".into();
    let sandbox = fake.client().sandbox().create().await.unwrap();
    let err = sandbox.files().write("/m", "x").metadata("k", "v").await.unwrap_err();
    assert!(matches!(err, Error::Template { .. }) && err.to_string().contains("0.6.2"), "{err}");

    fake.state().envd_version = "0.5.6".into();
    let sandbox = fake.client().sandbox().create().await.unwrap();
    sandbox.files().write("/g", WriteData::reader(&b"streamed"[..])).gzip(true).await.unwrap();
    let request = last(&fake);
    assert!(content_type(&request).starts_with("multipart/form-data"), "no octet-stream before 0.5.7");
    assert!(request.headers.get("content-encoding").is_none(), "and no gzip");
    assert!(!request.query.iter().any(|(k, _)| k == "username"));
    assert_eq!(stored(&fake, &sandbox, "/g"), b"streamed");

    fake.state().envd_version = "0.3.9".into();
    let sandbox = fake.client().sandbox().create().await.unwrap();
    sandbox.files().write("notes.txt", "n").await.unwrap();
    assert!(
        last(&fake).query.contains(&("username".to_string(), "user".to_string())),
        "envd < 0.4.0 needs the user"
    );
    sandbox.files().read("notes.txt").text().await.unwrap();
    assert!(last(&fake).query.contains(&("username".to_string(), "user".to_string())));
    fake.assert_no_violations();
}

#[tokio::test]
async fn envd_errors_map_to_typed_errors() {
    let fake = Fake::start().await;
    let client = fake.client();
    let sandbox = client.sandbox().create().await.unwrap();

    let err = sandbox.files().read("/nope").text().await.unwrap_err();
    assert!(
        matches!(err, Error::FileNotFound { ref message, stage } if message == "path '/nope' does not exist"
        && stage.operation == "read file"),
        "{err}"
    );
    assert!(err.is_not_found());
    let err = sandbox.files().read("/nope").stream().await.unwrap_err();
    assert!(matches!(err, Error::FileNotFound { .. }));

    let insecure = client.sandbox().secure(false).create().await.unwrap();
    insecure.files().write("/x", "1").await.unwrap();
    assert!(last(&fake).headers.get("x-access-token").is_none());

    // A wrong token is refused by envd.
    let forged = client.connect(sandbox.sandbox_id()).await.unwrap();
    fake.state().sandboxes.get_mut(sandbox.sandbox_id()).unwrap().token = Some("other".into());
    let err = forged.files().read("/x").text().await.unwrap_err();
    assert!(matches!(err, Error::Authentication { .. }), "{err}");

    assert!(sandbox.is_running().await.unwrap());
    assert!(sandbox.kill().await.unwrap());
    assert!(!sandbox.is_running().await.unwrap());
    for err in [
        sandbox.files().read("/x").text().await.unwrap_err(),
        sandbox.files().write("/x", "1").await.unwrap_err(),
    ] {
        assert!(
            matches!(err, Error::SandboxGone { ref message, .. } if message.starts_with("The sandbox was not found")),
            "{err}"
        );
        assert!(err.is_timeout());
    }
    let err = sandbox.files().write("/x", WriteData::file("/nonexistent/local/file")).await.unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    fake.assert_no_violations();
}

#[tokio::test]
async fn signed_urls_work_without_the_token_and_only_as_signed() {
    let fake = Fake::start().await;
    let sandbox = fake.client().sandbox().create().await.unwrap();
    sandbox.files().write("/home/user/report.txt", "42").await.unwrap();
    let http = reqwest::Client::new();
    let get = |url: String| {
        let request =
            http.get(url).header("e2b-sandbox-id", sandbox.sandbox_id()).header("e2b-sandbox-port", "49983");
        async move { request.send().await.unwrap() }
    };

    let url = sandbox.download_url("/home/user/report.txt").build().unwrap();
    assert!(
        url.starts_with(&format!("{}/files?path=%2Fhome%2Fuser%2Freport.txt&signature=v1_", fake.url)),
        "{url}"
    );
    let response = get(url.clone()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "42");
    assert_eq!(get(url.replace("signature=v1_", "signature=v1_X")).await.status(), 401);

    let expiring = sandbox
        .download_url("/home/user/report.txt")
        .user("user")
        .expires_in(Duration::from_secs(60))
        .build()
        .unwrap();
    assert!(
        expiring.contains("&username=user&signature=v1_") && expiring.contains("&signature_expiration="),
        "{expiring}"
    );
    assert_eq!(get(expiring).await.status(), 200);

    let upload = sandbox.upload_url("/home/user/in.txt").build().unwrap();
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(&b"up"[..]).file_name("in.txt"));
    let response = http
        .post(upload)
        .header("e2b-sandbox-id", sandbox.sandbox_id())
        .header("e2b-sandbox-port", "49983")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(stored(&fake, &sandbox, "/home/user/in.txt"), b"up");

    let insecure = fake.client().sandbox().secure(false).create().await.unwrap();
    assert_eq!(
        insecure.download_url("a b.txt").build().unwrap(),
        format!("{}/files?path=a%20b.txt", fake.url)
    );
    let err = insecure.download_url("a").expires_in(Duration::from_secs(5)).build().unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    fake.assert_no_violations();
}

#[tokio::test]
async fn mcp_token_is_read_as_root_and_cached() {
    let fake = Fake::start().await;
    let sandbox = fake.client().sandbox().create().await.unwrap();
    assert_eq!(sandbox.get_mcp_token().await.unwrap(), None);
    sandbox.files().write("/etc/mcp-gateway/.token", "tok-123").user("root").await.unwrap();
    assert_eq!(sandbox.get_mcp_token().await.unwrap().as_deref(), Some("tok-123"));
    assert!(last(&fake).query.contains(&("username".to_string(), "root".to_string())));
    let sent = fake.requests().len();
    assert_eq!(sandbox.get_mcp_token().await.unwrap().as_deref(), Some("tok-123"));
    assert_eq!(fake.requests().len(), sent, "cached");
    assert_eq!(sandbox.get_mcp_url(), format!("https://50005-{}.e2b.app/mcp", sandbox.sandbox_id()));
}
