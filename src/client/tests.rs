//! Client behaviour that needs no API server: URL building, secrets kept out of messages, and the
//! transport faults (closed port, lost answer, no answer) seen from a raw TCP socket. Behaviour
//! against real answers is tested through the sandbox in `tests/client.rs`.

use std::io::Read;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::remote::Remote as _;

const TOKEN: &str = "B64ab+c/d=|sau=|ted=1208277300|s1g+/=";

fn config(endpoint: &str) -> ClientConfig {
    ClientConfig {
        endpoint: endpoint.to_string(),
        token: TOKEN.to_string(),
        service_auth: Some(("SVC".into(), "hunter2-secret".into())),
        rate: None,
        concurrency: 2,
        timeout: Duration::from_secs(2),
        retries: 2,
    }
}

fn assert_no_secret(text: &str) {
    let encoded: String = url::form_urlencoded::byte_serialize(TOKEN.as_bytes()).collect();
    assert!(!text.contains(TOKEN), "raw token in {text}");
    assert!(!text.contains(&encoded), "encoded token in {text}");
    assert!(!text.contains("s1g"), "token fragment in {text}");
    assert!(!text.contains("hunter2"), "service password in {text}");
}

#[test]
fn urls_percent_encode_every_value_and_end_with_the_token() {
    let client = ApiClient::new(config("http://127.0.0.1:9/PersonalContacts/V1")).unwrap();
    let url = client.url(Action::FindContactList, &[(param::SEARCH, "\"Jean Pi\" & co".into())]);
    let query = url.query().unwrap();
    assert!(query.starts_with("action=findcontactlist&search="), "{query}");
    assert!(query.ends_with("&token=B64ab%2Bc%2Fd%3D%7Csau%3D%7Cted%3D1208277300%7Cs1g%2B%2F%3D"), "{query}");
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert_eq!(pairs[1], ("search".into(), "\"Jean Pi\" & co".into()));
    assert_eq!(pairs[2], ("token".into(), TOKEN.into()), "round-trips exactly");
    assert_eq!(url.path(), "/PersonalContacts/V1");
}

#[test]
fn debug_output_hides_secrets() {
    let cfg = config("http://127.0.0.1:9/V1");
    assert_no_secret(&format!("{cfg:?}"));
    let client = ApiClient::new(cfg).unwrap();
    assert_no_secret(&format!("{client:?}"));
}

#[test]
fn bad_configuration_is_refused() {
    for (endpoint, token, rate, timeout) in [
        ("not a url", TOKEN, None, 2),
        ("ftp://h/V1", TOKEN, None, 2),
        ("http://h/V1", " ", None, 2),
        ("http://h/V1", TOKEN, Some(0.0), 2),
        ("http://h/V1", TOKEN, None, 0),
    ] {
        let cfg = ClientConfig {
            endpoint: endpoint.into(),
            token: token.into(),
            rate,
            timeout: Duration::from_secs(timeout),
            ..config("")
        };
        let err = ApiClient::new(cfg).unwrap_err();
        assert!(matches!(err, ApiError::Config(_)) && err.is_fatal(), "{endpoint}: {err}");
    }
}

fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn closed_port_is_unreachable_retried_and_never_shows_the_token() {
    let port = closed_port();
    let client = ApiClient::new(config(&format!("http://127.0.0.1:{port}/PersonalContacts/V1"))).unwrap();
    let read = client.get_contact("C1").await.unwrap_err();
    let write = client.add_contact(&NewContact { lastname: Some("X".into()), ..Default::default() }).await;
    let write = write.unwrap_err();
    let picture = client.add_picture("C1", &[0xFF, 0xD8, 0xFF], ImageType::Jpeg).await.unwrap_err();
    for err in [&read, &write, &picture] {
        assert!(matches!(err, ApiError::Unreachable { .. }), "{err:?}");
        assert!(err.is_fatal() && !err.is_ambiguous());
        assert_no_secret(&err.to_string());
        assert_no_secret(&format!("{err:?}"));
    }
    assert!(read.to_string().to_lowercase().contains("connect"), "{read}");
    // A connection that never opened is safe to retry, writes included.
    let stats = client.stats();
    assert_eq!(stats.retries, 6, "{stats:?}");
    assert_eq!(stats.calls.get("getcontact"), Some(&1));
    assert_eq!(stats.ambiguous, 0);
}

/// A TCP server that reads each request's head and then behaves badly; counts connections.
fn raw_server(reply: Option<&'static [u8]>, hold: Duration) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}/PersonalContacts/V1", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            seen.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).is_ok_and(|n| n == 1) {
                    head.push(byte[0]);
                }
                if let Some(reply) = reply {
                    use std::io::Write;
                    let _ = stream.write_all(reply);
                }
                std::thread::sleep(hold);
            });
        }
    });
    (endpoint, count)
}

#[tokio::test]
async fn lost_answer_makes_a_write_ambiguous_and_a_read_retry() {
    let (endpoint, connections) = raw_server(None, Duration::ZERO);
    let client = ApiClient::new(config(&endpoint)).unwrap();
    let device = NewDevice {
        cid: "c6".into(),
        kind: crate::wire::DeviceType::Phone,
        subtype: crate::wire::DeviceSubtype::Mobile,
        order: 1,
        value: "0612".into(),
    };
    let write = client.add_device(&device).await.unwrap_err();
    assert!(matches!(write, ApiError::Transport { ambiguous: true, .. }), "{write:?}");
    assert!(write.is_ambiguous() && !write.is_fatal());
    assert_no_secret(&format!("{write} {write:?}"));
    assert_eq!(connections.load(Ordering::SeqCst), 1, "an ambiguous write is not re-sent");

    let read = client.find_contacts("a", None).await.unwrap_err();
    assert!(matches!(read, ApiError::Transport { ambiguous: false, .. }), "{read:?}");
    assert_eq!(connections.load(Ordering::SeqCst), 1 + 3, "read tried 1 + 2 retries");
    let stats = client.stats();
    assert_eq!((stats.retries, stats.ambiguous), (2, 1));
}

#[tokio::test]
async fn cut_body_on_a_write_is_ambiguous() {
    // Headers promise 100 bytes, 10 arrive, then the connection closes.
    let reply: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nContent-Type: text/xml\r\n\r\n<?xml vers";
    let (endpoint, connections) = raw_server(Some(reply), Duration::ZERO);
    let client = ApiClient::new(config(&endpoint)).unwrap();
    let err = client.add_contact(&NewContact { firstname: Some("A".into()), ..Default::default() }).await;
    let err = err.unwrap_err();
    assert!(err.is_ambiguous(), "{err:?}");
    assert_eq!(connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn silence_times_out_ambiguous_for_writes() {
    let (endpoint, connections) = raw_server(None, Duration::from_secs(5));
    let cfg = ClientConfig { timeout: Duration::from_millis(300), retries: 1, ..config(&endpoint) };
    let client = ApiClient::new(cfg).unwrap();
    let started = std::time::Instant::now();
    let read = client.get_picture("1").await.unwrap_err();
    assert!(matches!(read, ApiError::Transport { ambiguous: false, .. }), "{read:?}");
    assert!(read.to_string().contains("timed out"), "{read}");
    let write = client.add_picture("1", b"GIF89a....", ImageType::Gif).await.unwrap_err();
    assert!(matches!(write, ApiError::Transport { ambiguous: true, .. }), "{write:?}");
    assert_eq!(connections.load(Ordering::SeqCst), 3);
    assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
    assert_no_secret(&format!("{read} {read:?} {write} {write:?}"));
}

#[test]
fn bodies_in_other_declared_encodings_are_decoded() {
    let latin1 = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><x>\xc9mile</x>";
    assert!(decode_body(latin1).text.contains("Émile"));
    assert!(decode_body("<?xml version='1.0' encoding='UTF-8'?><x>Émile</x>".as_bytes())
        .text
        .contains("Émile"));
    let clean = decode_body("<x>Émile</x>".as_bytes());
    assert!(clean.text.contains("Émile") && clean.repaired.is_none());
}

#[test]
fn error_messages_and_classes() {
    let service = ApiError::Service {
        action: Action::GetContact,
        error: ServiceError { code: ErrorCode::InvalidUser, subtype: "0".into(), message: "bad user".into() },
    };
    assert_eq!(service.to_string(), "getcontact: service error 5 (invalid user) [subtype 0]: bad user");
    assert!(service.is_fatal() && !service.is_ambiguous());
    let not_found = ApiError::Service {
        action: Action::GetContact,
        error: ServiceError { code: ErrorCode::DataNotFound, subtype: String::new(), message: String::new() },
    };
    assert!(!not_found.is_fatal());
    assert_eq!(not_found.service_code(), Some(ErrorCode::DataNotFound));
    let http = ApiError::Http { action: Action::AddContact, status: 401, message: String::new() };
    assert!(http.is_fatal() && !http.is_ambiguous());
    let malformed = ApiError::Malformed { action: Action::AddContact, status: 200, message: "x".into() };
    assert!(malformed.is_ambiguous(), "an unreadable answer to a write may hide a success");
    let malformed_read = ApiError::Malformed { action: Action::GetContact, status: 200, message: "x".into() };
    assert!(!malformed_read.is_ambiguous());
}

#[tokio::test]
async fn server_error_statuses_on_writes() {
    let contact = NewContact { nickname: Some("N".into()), ..Default::default() };
    // A 500 that says something: the server answered "failed", so the write is retried.
    let said: &[u8] =
        b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\nConnection: close\r\n\r\noops\n";
    let (endpoint, connections) = raw_server(Some(said), Duration::ZERO);
    let client = ApiClient::new(config(&endpoint)).unwrap();
    let err = client.add_contact(&contact).await.unwrap_err();
    assert!(matches!(err, ApiError::Http { status: 500, .. }) && !err.is_ambiguous(), "{err:?}");
    assert_eq!(connections.load(Ordering::SeqCst), 3);
    // An empty 500, or a gateway's 502, may hide an applied write: not re-sent.
    for reply in [
        &b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"[..],
        &b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbad"[..],
    ] {
        let (endpoint, connections) = raw_server(Some(reply), Duration::ZERO);
        let client = ApiClient::new(config(&endpoint)).unwrap();
        let err = client.add_contact(&contact).await.unwrap_err();
        assert!(err.is_ambiguous(), "{err:?}");
        assert_eq!(connections.load(Ordering::SeqCst), 1);
        // A read in the same situation is simply retried.
        let err = client.get_contact("1").await.unwrap_err();
        assert!(!err.is_ambiguous(), "{err:?}");
        assert_eq!(connections.load(Ordering::SeqCst), 4);
    }
}
