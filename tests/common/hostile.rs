//! A small, purpose-built broken or hostile Personal Contacts server, for what the sandbox will not
//! do (issue 9, "Adversity"): huge answers, garbage, wrong encodings, tokens echoed back, endless
//! paging, listed contacts that cannot be read. It listens on 127.0.0.1:0, answers each connection
//! once and closes it (`Connection: close`), and is bounded: request heads are read up to 64 KiB,
//! a huge answer stops as soon as the client hangs up, endless paging ends after
//! [`ENDLESS_PAGES_SERVED`] pages. Good answers are rendered by the crate's own `wire::render`.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use orange_contacts::wire::search::{matches, parse_term, searchable_names};
use orange_contacts::wire::{
    render, Action, ContactDetail, ContactPage, ContactSummary, ErrorCode, ImageType, Picture, ServiceError,
};

#[path = "token_echoes.rs"]
pub mod token_echoes;

/// The one contact of the account the modes serve (besides the ones they make up).
pub const CONTACT_ID: &str = "1";
pub const CONTACT_FIRST: &str = "Ann";
pub const CONTACT_LAST: &str = "Hostile";

/// Pages an [`Mode::EndlessPaging`] server serves before it answers empty pages.
pub const ENDLESS_PAGES_SERVED: u32 = 5000;

/// Garbage answered with HTTP 200 to every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Garbage {
    /// Not XML at all (and not closed).
    InvalidXml,
    /// An HTML page, as a captive portal or a misconfigured proxy sends.
    Html,
    /// A well-formed answer encoded in UTF-16 but declared (and served) as UTF-8.
    Utf16,
}

/// Where an echoed token is put.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EchoPlace {
    /// The message of a service error (HTTP 200 `<xpage>`, code 4).
    ServiceError,
    /// A plain-text HTTP 401 body.
    Unauthorized,
    /// A plain-text HTTP 503 body.
    Unavailable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The one contact's `getcontact` answer has a first name of `bytes` bytes, and its
    /// `getpicture` answer a base64 picture of `bytes` bytes; streamed with `Content-Length` when
    /// `declared`, else chunked.
    Huge { bytes: u64, declared: bool },
    /// Every answer is HTTP 200 with this garbage.
    Garbage(Garbage),
    /// The one-contact account, but every `every`-th request (1-based) is answered with garbage,
    /// unless the same request was answered with garbage before (its retry gets a good answer).
    Flaky { every: u64 },
    /// Every answer echoes the request's token at `place`, written in the `n`-th way of
    /// [`token_echoes::ECHOES`] for the `n`-th request (all of them in turn), or always the way
    /// given.
    Echo { place: EchoPlace, encoding: Option<usize> },
    /// A search for `a` claims `total` matches over a million pages, with one new contact on each.
    EndlessPaging { total: u32 },
    /// Every search answers the one contact on one page, claiming `total` matches: a capped page
    /// that no refinement can ever complete.
    ClaimsMore { total: u32 },
    /// Lists the one contact and a second one (`2`) that `getcontact` says does not exist (100).
    ListedNotFound,
    /// The one contact's `getcontact` answer carries Latin-1 bytes (`\xC9mile`) while declaring
    /// UTF-8.
    NonUtf8Name,
}

/// A running hostile server; stops accepting when dropped.
pub struct HostileServer {
    pub endpoint: String,
    requests: Arc<AtomicU64>,
    body_bytes: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    addr: std::net::SocketAddr,
}

impl HostileServer {
    pub fn start(mode: Mode) -> HostileServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicU64::new(0));
        let body_bytes = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s) = (requests.clone(), stop.clone());
        let state = Arc::new(State { body_bytes: body_bytes.clone(), garbled: Mutex::new(HashSet::new()) });
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let n = r.fetch_add(1, Ordering::SeqCst) + 1;
                let state = state.clone();
                std::thread::spawn(move || serve(stream, mode, n, &state));
            }
        });
        HostileServer {
            endpoint: format!("http://{addr}/PersonalContacts/V1"),
            requests,
            body_bytes,
            stop,
            addr,
        }
    }

    /// Requests received so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    /// Answer body bytes written so far (all answers).
    pub fn body_bytes(&self) -> u64 {
        self.body_bytes.load(Ordering::SeqCst)
    }
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // wakes the accept loop
    }
}

/// What the connections of one server share.
struct State {
    body_bytes: Arc<AtomicU64>,
    /// Queries already answered with garbage ([`Mode::Flaky`]).
    garbled: Mutex<HashSet<String>>,
}

/// One request as the server saw it: the query parameters (form-decoded).
struct Request {
    query: String,
    params: Vec<(String, String)>,
}

impl Request {
    fn get(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn action(&self) -> Option<Action> {
        self.get("action").and_then(Action::from_name)
    }
}

fn read_request(stream: &TcpStream) -> Option<Request> {
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut reader = BufReader::new(std::io::Read::take(stream, 64 * 1024));
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let target = line.split_whitespace().nth(1)?.to_string();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 || header == "\r\n" {
            break;
        }
    }
    let query = target.split_once('?').map(|(_, q)| q).unwrap_or("");
    let params = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    Some(Request { query: query.to_string(), params })
}

fn serve(mut stream: TcpStream, mode: Mode, n: u64, state: &State) {
    let body_bytes = &*state.body_bytes;
    let Some(request) = read_request(&stream) else { return };
    let _ = stream.set_write_timeout(Some(Duration::from_secs(30)));
    let answer = match mode {
        Mode::Huge { bytes, declared } => match request.action() {
            Some(Action::GetContact) => {
                return stream_huge(&mut stream, Action::GetContact, bytes, declared, body_bytes)
            }
            Some(Action::GetPicture) => {
                return stream_huge(&mut stream, Action::GetPicture, bytes, declared, body_bytes)
            }
            _ => account(&request),
        },
        Mode::Garbage(kind) => garbage(kind),
        Mode::Flaky { every } => {
            let garble =
                n.is_multiple_of(every.max(1)) && state.garbled.lock().unwrap().insert(request.query.clone());
            if garble {
                garbage(Garbage::InvalidXml)
            } else {
                account(&request)
            }
        }
        Mode::Echo { place, encoding } => {
            let (_, write) =
                token_echoes::ECHOES[encoding.unwrap_or(n as usize % token_echoes::ECHOES.len())];
            echo(&request, place, &write(request.get("token").unwrap_or("")))
        }
        Mode::EndlessPaging { total } => endless_page(&request, total),
        Mode::ClaimsMore { total } => match request.action() {
            Some(Action::FindContactList) => {
                xml(render::contact_page(&ContactPage { total, pages: 1, page: 1, entries: vec![summary()] }))
            }
            _ => account(&request),
        },
        Mode::ListedNotFound => match request.action() {
            Some(Action::FindContactList) if finds_the_contact(&request) => {
                xml(render::contact_page(&page(vec![summary(), summary_of("2", CONTACT_FIRST, "Vanished")])))
            }
            Some(Action::GetContact) if request.get("cid") == Some("2") => service_error(
                Some(Action::GetContact),
                ErrorCode::DataNotFound,
                "cid",
                "Data not found: no contact '2'.",
            ),
            _ => account(&request),
        },
        Mode::NonUtf8Name => match request.action() {
            Some(Action::GetContact) if request.get("cid") == Some(CONTACT_ID) => {
                let text =
                    render::contact_detail(&ContactDetail { firstname: Some(PAYLOAD.into()), ..detail() });
                let (head, tail) = split_at_payload(&text);
                // `Émile` in Latin-1: 0xC9 is not valid UTF-8 on its own.
                let body = [head.as_bytes(), b"\xC9mile", tail.as_bytes()].concat();
                Answer { body, ..xml(String::new()) }
            }
            _ => account(&request),
        },
    };
    body_bytes.fetch_add(answer.body.len() as u64, Ordering::SeqCst);
    let _ = write_answer(&mut stream, &answer);
}

struct Answer {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
}

fn xml(body: String) -> Answer {
    Answer { status: 200, content_type: "text/xml; charset=UTF-8", body: body.into_bytes() }
}

fn plain(status: u16, body: String) -> Answer {
    Answer { status, content_type: "text/plain; charset=UTF-8", body: body.into_bytes() }
}

fn write_answer(stream: &mut TcpStream, answer: &Answer) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        answer.status,
        reason(answer.status),
        answer.content_type,
        answer.body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(&answer.body)?;
    stream.flush()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        401 => "Unauthorized",
        503 => "Service Unavailable",
        _ => "Whatever",
    }
}

fn summary() -> ContactSummary {
    summary_of(CONTACT_ID, CONTACT_FIRST, CONTACT_LAST)
}

fn summary_of(id: &str, first: &str, last: &str) -> ContactSummary {
    ContactSummary {
        id: id.into(),
        firstname: Some(first.into()),
        lastname: Some(last.into()),
        ..Default::default()
    }
}

fn detail() -> ContactDetail {
    ContactDetail {
        id: CONTACT_ID.into(),
        firstname: Some(CONTACT_FIRST.into()),
        lastname: Some(CONTACT_LAST.into()),
        ..Default::default()
    }
}

fn page(entries: Vec<ContactSummary>) -> ContactPage {
    ContactPage { total: entries.len() as u32, pages: 1, page: 1, entries }
}

/// The well-behaved one-contact account.
fn account(request: &Request) -> Answer {
    match request.action() {
        Some(Action::FindContactList) => xml(render::contact_page(&page(if finds_the_contact(request) {
            vec![summary()]
        } else {
            vec![]
        }))),
        Some(Action::GetContact) if request.get("cid") == Some(CONTACT_ID) => {
            xml(render::contact_detail(&detail()))
        }
        Some(Action::GetPicture) if request.get("cid") == Some(CONTACT_ID) => xml(render::picture(None)),
        action => service_error(action, ErrorCode::DataNotFound, "cid", "Data not found."),
    }
}

/// Whether the request's search matches the one contact (the API's search rules).
fn finds_the_contact(request: &Request) -> bool {
    parse_term(request.get("search").unwrap_or("")).is_ok_and(|term| {
        matches(&term, &searchable_names(Some(CONTACT_FIRST), Some(CONTACT_LAST), None, None))
    })
}

fn service_error(action: Option<Action>, code: ErrorCode, subtype: &str, message: &str) -> Answer {
    xml(render::service_error(
        action,
        &ServiceError { code, subtype: subtype.into(), message: message.into() },
    ))
}

fn garbage(kind: Garbage) -> Answer {
    match kind {
        Garbage::InvalidXml => xml("<?xml version=\"1.0\"?><xpage><command-list><command><<<garbage".into()),
        Garbage::Html => Answer {
            content_type: "text/html",
            ..xml("<!DOCTYPE html><html><head><title>Welcome</title></head><body><p>Please log in to the \
                   Wi-Fi<br></p></body></html>"
                .into())
        },
        Garbage::Utf16 => {
            let text = render::contact_page(&page(vec![]));
            Answer { body: text.encode_utf16().flat_map(u16::to_le_bytes).collect(), ..xml(String::new()) }
        }
    }
}

fn echo(request: &Request, place: EchoPlace, echoed: &str) -> Answer {
    match place {
        EchoPlace::ServiceError => service_error(
            request.action(),
            ErrorCode::InvalidParameter,
            "token",
            &format!("'token' is invalid: \"{echoed}\""),
        ),
        EchoPlace::Unauthorized => plain(401, format!("Unauthorized: token {echoed} is not accepted here\n")),
        EchoPlace::Unavailable => plain(503, format!("Service unavailable for token={echoed} (try later)\n")),
    }
}

fn endless_page(request: &Request, total: u32) -> Answer {
    if request.action() != Some(Action::FindContactList) {
        return account(request);
    }
    let p: u32 = request.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let entries = if request.get("search") == Some("a") && p <= ENDLESS_PAGES_SERVED {
        vec![summary_of(&format!("p{p}"), &format!("Ann{p:07}"), "Endless")]
    } else {
        vec![]
    };
    let total = if request.get("search") == Some("a") { total } else { 0 };
    xml(render::contact_page(&ContactPage { total, pages: 1_000_000, page: p, entries }))
}

/// Streams an answer of `bytes` bytes of payload (a first name, or a picture's base64) until done
/// or until the client hangs up (a write then fails, and the rest is never produced).
fn stream_huge(stream: &mut TcpStream, action: Action, bytes: u64, declared: bool, sent: &AtomicU64) {
    let (head, tail) = match action {
        Action::GetPicture => split_at_payload(&render::picture(Some(&Picture {
            id: Some("9".into()),
            content: PAYLOAD.as_bytes().to_vec(),
            image_type: Some(ImageType::Jpeg),
        }))),
        _ => split_at_payload(&render::contact_detail(&ContactDetail {
            firstname: Some(PAYLOAD.into()),
            ..detail()
        })),
    };
    let framing = match declared {
        true => format!("Content-Length: {}", head.len() as u64 + bytes + tail.len() as u64),
        false => "Transfer-Encoding: chunked".to_string(),
    };
    let start = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/xml; charset=UTF-8\r\n{framing}\r\nConnection: close\r\n\r\n"
    );
    let filler = vec![b'A'; 64 * 1024];
    let mut body = BodyWriter { stream, chunked: !declared, sent };
    let _ = (|| -> std::io::Result<()> {
        body.stream.write_all(start.as_bytes())?;
        body.write(head.as_bytes())?;
        let mut left = bytes;
        while left > 0 {
            let n = left.min(filler.len() as u64) as usize;
            body.write(&filler[..n])?;
            left -= n as u64;
        }
        body.write(tail.as_bytes())?;
        body.finish()
    })();
}

/// A placeholder for the huge part of an answer, cut out of a rendered answer.
const PAYLOAD: &str = "@@PAYLOAD@@";

fn base64_of_payload() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(PAYLOAD)
}

fn split_at_payload(text: &str) -> (String, String) {
    let text = text.replace(&base64_of_payload(), PAYLOAD);
    let (head, tail) = text.split_once(PAYLOAD).expect("the placeholder is in the answer");
    (head.to_string(), tail.to_string())
}

struct BodyWriter<'a> {
    stream: &'a mut TcpStream,
    chunked: bool,
    sent: &'a AtomicU64,
}

impl BodyWriter<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        if self.chunked {
            self.stream.write_all(format!("{:x}\r\n", data.len()).as_bytes())?;
            self.stream.write_all(data)?;
            self.stream.write_all(b"\r\n")?;
        } else {
            self.stream.write_all(data)?;
        }
        self.sent.fetch_add(data.len() as u64, Ordering::SeqCst);
        Ok(())
    }

    fn finish(&mut self) -> std::io::Result<()> {
        if self.chunked {
            self.stream.write_all(b"0\r\n\r\n")?;
        }
        self.stream.flush()
    }
}
