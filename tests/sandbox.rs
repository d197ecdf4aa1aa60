//! The sandbox over real HTTP: every method, every error code, isolation, persistence, paging,
//! rate limit, injected faults, privacy refusal, service auth, token encoding, stats, search.
//! Requests are raw reqwest calls (not the client module) so the wire is what is tested.

use crate::common;

use std::time::Duration;

use base64::Engine as _;
use common::TestServer;

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap()
}

/// GET `endpoint?action=…&token=…&pairs…`, every value percent-encoded.
async fn call(endpoint: &str, token: &str, action: &str, pairs: &[(&str, &str)]) -> (u16, String) {
    let mut url = format!("{endpoint}?action={}&token={}", enc(action), enc(token));
    for (k, v) in pairs {
        url.push_str(&format!("&{}={}", enc(k), enc(v)));
    }
    let resp = http().get(&url).send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

fn result_code(body: &str) -> i32 {
    let start = body.find("<result>").unwrap_or_else(|| panic!("no <result> in {body}")) + "<result>".len();
    let end = body[start..].find("</result>").unwrap() + start;
    body[start..end].parse().unwrap()
}

fn assert_error(resp: &(u16, String), code: i32) {
    assert_eq!(resp.0, 200, "service errors are HTTP 200: {}", resp.1);
    assert_eq!(result_code(&resp.1), -code, "{}", resp.1);
    assert!(resp.1.contains(&format!("type=\"{code}\"")), "{}", resp.1);
}

fn added_id(body: &str) -> String {
    assert_eq!(result_code(body), 0, "{body}");
    let start = body.find("<id>").expect("id") + 4;
    body[start..start + body[start..].find("</id>").unwrap()].to_string()
}

async fn add(server: &TestServer, token: &str, pairs: &[(&str, &str)]) -> String {
    added_id(&call(&server.endpoint, token, "addcontact", pairs).await.1)
}

async fn find(server: &TestServer, token: &str, search: &str) -> String {
    let (status, body) = call(&server.endpoint, token, "findcontactlist", &[("search", search)]).await;
    assert_eq!(status, 200);
    assert_eq!(result_code(&body), 0, "{body}");
    body
}

fn attr(body: &str, name: &str) -> u32 {
    let key = format!(" {name}=\"");
    let start = body.find(&key).unwrap_or_else(|| panic!("no {name} in {body}")) + key.len();
    body[start..start + body[start..].find('"').unwrap()].parse().unwrap()
}

fn ids(body: &str) -> Vec<String> {
    body.match_indices("<data view=\"shallow\" id=\"")
        .map(|(i, m)| {
            let s = &body[i + m.len()..];
            s[..s.find('"').unwrap()].to_string()
        })
        .collect()
}

async fn add_picture(endpoint: &str, token: &str, action: &str, cid: &str, bytes: Vec<u8>) -> (u16, String) {
    let form = reqwest::multipart::Form::new()
        .text("action", action.to_string())
        .text("cid", cid.to_string())
        .text("token", token.to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("picture.jpg").mime_str("image/jpeg").unwrap(),
        );
    let resp = http().post(endpoint).multipart(form).send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

async fn stats(server: &TestServer) -> serde_json::Value {
    let text = http()
        .get(format!("{}/_sandbox/stats", server.base_url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

const GIF: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";

fn jpeg() -> Vec<u8> {
    let mut v = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
    v.extend_from_slice(b"JFIF\0 jpeg-ish body \xff\xd9");
    v
}

#[tokio::test]
async fn every_method_happy_path() {
    let server = TestServer::start(&[]);
    let token = server.token("alice");
    let cid = add(
        &server,
        &token,
        &[
            ("lastname", "World"),
            ("firstname", "Hello"),
            ("nickname", "HelloWorld"),
            ("company", "Orange"),
            ("function", "JobTitle"),
            ("department", "World & Co"),
            ("emailperso", "hello.world@helloworld.com"),
            ("birthday", "1951-01-01"),
            ("civility", "2"),
        ],
    )
    .await;
    assert!(cid.bytes().all(|b| b.is_ascii_digit()), "decimal ids: {cid}");

    let dev = [
        ("cid", cid.as_str()),
        ("type", "phone"),
        ("subtype", "mobile"),
        ("order", "2"),
        ("value", "+33 6 12"),
    ];
    let (status, body) = call(&server.endpoint, &token, "adddevice", &dev).await;
    assert_eq!((status, result_code(&body)), (200, 0), "{body}");
    assert!(body.contains("action=\"cdvupdatedevice\""));
    let url =
        [("cid", cid.as_str()), ("type", "url"), ("subtype", "web"), ("order", "1"), ("value", "www.x.org")];
    assert_eq!(result_code(&call(&server.endpoint, &token, "adddevice", &url).await.1), 0);

    let (status, body) = call(&server.endpoint, &token, "getcontact", &[("cid", &cid)]).await;
    assert_eq!(status, 200);
    assert_eq!(body.matches("<data ").count(), 1, "exactly one data: {body}");
    for needle in [
        format!("<data view=\"deep\" id=\"{cid}\" type=\"contact\">"),
        "<firstname>Hello</firstname>".into(),
        "<lastname>World</lastname>".into(),
        "<nickname>HelloWorld</nickname>".into(),
        "<company>Orange</company>".into(),
        "<function>JobTitle</function>".into(),
        "<department>World &amp; Co</department>".into(),
        "<birthday>1951-01-01</birthday>".into(),
        "<civility>2</civility>".into(),
        "info-type=\"perso\" order=\"1\" subtype=\"internet\" type=\"email\">hello.world@helloworld.com</device>".into(),
        "order=\"2\" subtype=\"cell\" type=\"phone\">+33 6 12</device>".into(),
        "subtype=\"web\" type=\"url\">www.x.org</device>".into(),
    ] {
        assert!(body.contains(&needle), "missing {needle} in {body}");
    }
    let email_at = body.find("type=\"email\"").unwrap();
    assert!(email_at < body.find("type=\"phone\"").unwrap(), "devices in insertion order");

    let body = find(&server, &token, "hello").await;
    assert!(body.contains("<data-list total-data=\"1\" nbpage=\"1\" page=\"1\" nbentries=\"1\">"), "{body}");
    assert_eq!(ids(&body), vec![cid.clone()]);

    // No picture yet: result 0, empty data-list.
    let (_, body) = call(&server.endpoint, &token, "getpicture", &[("cid", &cid)]).await;
    assert_eq!(result_code(&body), 0);
    assert!(body.contains("<data-list/>"), "{body}");

    // The seed's own spelling `add picture`, then a replacement with the canonical name.
    let (status, body) = add_picture(&server.endpoint, &token, "add picture", &cid, GIF.to_vec()).await;
    assert_eq!((status, result_code(&body)), (200, 0), "{body}");
    assert!(body.contains("action=\"ctcaddmedia\""));
    let (_, body) = call(&server.endpoint, &token, "getpicture", &[("cid", &cid)]).await;
    let b64 = base64::engine::general_purpose::STANDARD.encode(GIF);
    assert!(body.contains(&format!("content=\"{b64}\"")), "{body}");
    assert!(body.contains("<typeImage>gif</typeImage>"));
    assert!(body.contains("subtype=\"picture\" type=\"media\"/>"));
    let (_, body) = add_picture(&server.endpoint, &token, "addpicture", &cid, jpeg()).await;
    assert_eq!(result_code(&body), 0, "{body}");
    let (_, body) = call(&server.endpoint, &token, "getpicture", &[("cid", &cid)]).await;
    assert!(body.contains("<typeImage>jpeg</typeImage>") && !body.contains("gif"), "replaced: {body}");
    assert_eq!(body.matches("<filename").count(), 1);

    // The 2008 integration path is an alias; POST form-urlencoded works for plain methods.
    let int = server.endpoint.replace("/PersonalContacts/V1", "/int/PersonalContacts/V1");
    let (_, body) = call(&int, &token, "getcontact", &[("cid", &cid)]).await;
    assert_eq!(result_code(&body), 0);
    let resp = http()
        .post(&server.endpoint)
        .form(&[("action", "addcontact"), ("token", token.as_str()), ("company", "Posted SA")])
        .send()
        .await
        .unwrap();
    added_id(&resp.text().await.unwrap());
    assert_eq!(ids(&find(&server, &token, "posted").await).len(), 1);
}

#[tokio::test]
async fn every_error_code_and_rejected_writes_leave_nothing() {
    let server = TestServer::start(&["--max-picture-bytes", "200"]);
    let token = server.token("alice");
    let ep = server.endpoint.as_str();
    let cid = add(&server, &token, &[("lastname", "Keep")]).await;

    // 1: unknown action.
    let body = call(ep, &token, "deletecontact", &[]).await;
    assert_error(&body, 1);
    assert!(body.1.contains("<command request=\"g10\" action=\"\">"));
    // 2: missing parameters.
    let resp = http().get(format!("{ep}?token={}", enc(&token))).send().await.unwrap();
    assert_error(&(resp.status().as_u16(), resp.text().await.unwrap()), 2);
    let resp = http().get(format!("{ep}?action=getcontact&cid={cid}")).send().await.unwrap();
    assert_error(&(resp.status().as_u16(), resp.text().await.unwrap()), 2);
    assert_error(&call(ep, &token, "getcontact", &[]).await, 2);
    assert_error(&call(ep, &token, "getpicture", &[("cid", "")]).await, 2);
    assert_error(&call(ep, &token, "findcontactlist", &[]).await, 2);
    assert_error(&call(ep, &token, "findcontactlist", &[("search", "  ")]).await, 2);
    assert_error(&call(ep, &token, "addcontact", &[("function", "Boss"), ("emailperso", "b@x")]).await, 2);
    assert_error(&call(ep, &token, "addcontact", &[("lastname", " ")]).await, 2);
    let dev = |v: &'static str| {
        [("cid", "1"), ("type", "phone"), ("subtype", "voice"), ("order", "1"), ("value", v)]
    };
    assert_error(&call(ep, &token, "adddevice", &dev("")).await, 2);
    let form = reqwest::multipart::Form::new()
        .text("action", "addpicture")
        .text("cid", cid.clone())
        .text("token", token.clone());
    let resp = http().post(ep).multipart(form).send().await.unwrap();
    assert_error(&(resp.status().as_u16(), resp.text().await.unwrap()), 2);
    // 4: invalid parameters.
    assert_error(&call(ep, &token, "addcontact", &[("lastname", "X"), ("civility", "4")]).await, 4);
    assert_error(&call(ep, &token, "addcontact", &[("lastname", "X"), ("civility", "Mr")]).await, 4);
    for bad in ["1951-02-30", "1951-1-1", "01/01/1951", "1951-01-01T10:00:00"] {
        assert_error(&call(ep, &token, "addcontact", &[("lastname", "X"), ("birthday", bad)]).await, 4);
    }
    for (kind, subtype, order) in [
        ("fax", "voice", "1"),
        ("email", "voice", "1"),
        ("phone", "internet", "1"),
        ("url", "web", "0"),
        ("url", "web", "x"),
        ("url", "web", "-1"),
    ] {
        let p =
            [("cid", cid.as_str()), ("type", kind), ("subtype", subtype), ("order", order), ("value", "v")];
        assert_error(&call(ep, &token, "adddevice", &p).await, 4);
    }
    assert_error(&call(ep, &token, "findcontactlist", &[("search", "Ke*")]).await, 4);
    assert_error(&call(ep, &token, "findcontactlist", &[("search", "*")]).await, 4);
    assert_error(
        &add_picture(ep, &token, "addpicture", &cid, b"\x89PNG\r\n\x1a\nnot accepted".to_vec()).await,
        4,
    );
    let mut big = jpeg();
    big.resize(201, 0);
    assert_error(&add_picture(ep, &token, "addpicture", &cid, big).await, 4);
    // 5: unknown token.
    assert_error(&call(ep, "B64nope+/=|sau=|ted=1|x=", "getcontact", &[("cid", &cid)]).await, 5);
    // 100: unknown contact, in every form.
    let padded = format!("0{cid}");
    for missing in ["999999", "c6", "C1", "-1", padded.as_str()] {
        assert_error(&call(ep, &token, "getcontact", &[("cid", missing)]).await, 100);
        assert_error(&call(ep, &token, "getpicture", &[("cid", missing)]).await, 100);
        let p = [("cid", missing), ("type", "url"), ("subtype", "web"), ("order", "1"), ("value", "v")];
        assert_error(&call(ep, &token, "adddevice", &p).await, 100);
        assert_error(&add_picture(ep, &token, "addpicture", missing, GIF.to_vec()).await, 100);
    }

    // Nothing above wrote anything: one contact, no devices, no picture.
    let body = find(&server, &token, "x").await;
    assert_eq!(attr(&body, "total-data"), 0);
    let (_, body) = call(ep, &token, "getcontact", &[("cid", &cid)]).await;
    assert!(!body.contains("<device "), "{body}");
    let (_, body) = call(ep, &token, "getpicture", &[("cid", &cid)]).await;
    assert!(body.contains("<data-list/>"));
    let s = stats(&server).await;
    assert!(s["rejected"]["invalid"].as_u64().unwrap() >= 25, "{s}");
    assert_eq!(s["rejected"]["invalid_user"], 1);
    assert_eq!(s["rejected"]["not_found"], 20);
}

#[tokio::test]
async fn users_are_isolated_without_leaking_existence() {
    let server = TestServer::start(&[]);
    let (alice, bob) = (server.token("alice"), server.token("bob"));
    assert_ne!(alice, bob);
    let cid = add(&server, &alice, &[("lastname", "Secret")]).await;
    let ep = server.endpoint.as_str();
    assert_error(&call(ep, &bob, "getcontact", &[("cid", &cid)]).await, 100);
    assert_error(&call(ep, &bob, "getpicture", &[("cid", &cid)]).await, 100);
    let p = [("cid", cid.as_str()), ("type", "url"), ("subtype", "web"), ("order", "1"), ("value", "evil")];
    assert_error(&call(ep, &bob, "adddevice", &p).await, 100);
    assert_error(&add_picture(ep, &bob, "addpicture", &cid, GIF.to_vec()).await, 100);
    // Same message as a contact that never existed.
    let theirs = call(ep, &bob, "getcontact", &[("cid", &cid)]).await.1.replace(&format!("'{cid}'"), "'N'");
    let nobody = call(ep, &bob, "getcontact", &[("cid", "987654")]).await.1.replace("'987654'", "'N'");
    assert_eq!(theirs, nobody);
    assert_eq!(attr(&find(&server, &bob, "sec").await, "total-data"), 0);
    let (_, body) = call(ep, &alice, "getcontact", &[("cid", &cid)]).await;
    assert!(!body.contains("evil") && !body.contains("<device "), "bob wrote nothing: {body}");
    assert_eq!(ids(&find(&server, &alice, "sec").await), vec![cid]);
}

#[tokio::test]
async fn data_survives_a_restart() {
    let server = TestServer::start(&[]);
    let token = server.token("alice");
    let cid =
        add(&server, &token, &[("firstname", "Émile"), ("lastname", "Zola"), ("emailperso", "e@z.fr")]).await;
    let p =
        [("cid", cid.as_str()), ("type", "phone"), ("subtype", "fax"), ("order", "3"), ("value", "01 02")];
    assert_eq!(result_code(&call(&server.endpoint, &token, "adddevice", &p).await.1), 0);
    assert_eq!(
        result_code(&add_picture(&server.endpoint, &token, "addpicture", &cid, GIF.to_vec()).await.1),
        0
    );
    let before = call(&server.endpoint, &token, "getcontact", &[("cid", &cid)]).await.1;
    let (dir, db) = server.stop();
    let server = TestServer::start_on(dir, db, &[]);
    assert_eq!(server.token("alice"), token, "same token after restart");
    assert_eq!(call(&server.endpoint, &token, "getcontact", &[("cid", &cid)]).await.1, before);
    let (_, pic) = call(&server.endpoint, &token, "getpicture", &[("cid", &cid)]).await;
    assert!(pic.contains("<typeImage>gif</typeImage>"));
    let next = add(&server, &token, &[("lastname", "Next")]).await;
    assert_ne!(next, cid, "ids are not reused");
}

#[tokio::test]
async fn page_size_caps_entries_and_page_parameter_walks_them() {
    let server = TestServer::start(&["--page-size", "2"]);
    let token = server.token("alice");
    let mut created = Vec::new();
    for name in ["Martin", "mallet", "Mérand", "Moreau", "Muller"] {
        created.push(add(&server, &token, &[("lastname", name)]).await);
    }
    let mut seen = Vec::new();
    for page in 1..=3u32 {
        let (_, body) = call(
            &server.endpoint,
            &token,
            "findcontactlist",
            &[("search", "m"), ("page", &page.to_string())],
        )
        .await;
        assert_eq!(attr(&body, "total-data"), 5, "{body}");
        assert_eq!(attr(&body, "nbpage"), 3);
        assert_eq!(attr(&body, "page"), page);
        assert_eq!(attr(&body, "nbentries"), if page == 3 { 1 } else { 2 });
        seen.extend(ids(&body));
    }
    // Sorted by folded last name: mallet, Martin, Mérand, Moreau, Muller.
    let expected: Vec<String> = [1, 0, 2, 3, 4].iter().map(|i| created[*i].clone()).collect();
    assert_eq!(seen, expected);
    let (_, body) =
        call(&server.endpoint, &token, "findcontactlist", &[("search", "m"), ("page", "4")]).await;
    assert_eq!((attr(&body, "nbentries"), attr(&body, "total-data")), (0, 5));
    assert_error(
        &call(&server.endpoint, &token, "findcontactlist", &[("search", "m"), ("page", "zero")]).await,
        4,
    );

    // Without paging the parameter is ignored: always page 1 of the capped list.
    let (dir, db) = server.stop();
    let server = TestServer::start_on(dir, db, &["--page-size", "2", "--no-paging"]);
    let (_, body) =
        call(&server.endpoint, &token, "findcontactlist", &[("search", "m"), ("page", "2")]).await;
    assert_eq!((attr(&body, "page"), attr(&body, "nbentries"), attr(&body, "nbpage")), (1, 2, 3), "{body}");
    // Default: no cap.
    let (dir, db) = server.stop();
    let server = TestServer::start_on(dir, db, &[]);
    let body = find(&server, &token, "m").await;
    assert_eq!((attr(&body, "nbpage"), attr(&body, "nbentries")), (1, 5));
}

#[tokio::test]
async fn max_rps_answers_429_with_retry_after() {
    let server = TestServer::start(&["--max-rps", "3"]);
    let token = server.token("alice");
    let mut limited = 0;
    for _ in 0..12 {
        let url = format!("{}?action=findcontactlist&search=a&token={}", server.endpoint, enc(&token));
        let resp = http().get(url).send().await.unwrap();
        if resp.status() == 429 {
            limited += 1;
            let retry: u64 =
                resp.headers()["retry-after"].to_str().unwrap().parse().expect("integer seconds");
            assert!(retry >= 1);
        } else {
            assert_eq!(resp.status(), 200);
        }
    }
    assert!(limited >= 6, "burst of 3 then refusals, got {limited} refusals");
    let s = stats(&server).await;
    assert_eq!(s["rejected"]["rate_limited"], limited);
    // The allowance comes back.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(result_code(&find(&server, &token, "a").await), 0);
}

#[derive(Debug, PartialEq)]
enum Seen {
    Refused503,
    Error500,
    Lost,
}

#[tokio::test]
async fn injected_faults_show_each_kind_and_lost_responses_really_committed() {
    let server = TestServer::start(&["--fail-rate", "1.0", "--fault-seed", "42"]);
    let token = server.token("alice");
    let mut outcomes = Vec::new();
    for i in 0..30 {
        let url = format!("{}?action=addcontact&lastname=Fault{i:02}&token={}", server.endpoint, enc(&token));
        let seen = match http().get(url).send().await {
            Err(e) => {
                assert!(!e.is_timeout() && !e.is_status(), "{e:?}");
                Seen::Lost
            }
            Ok(resp) => {
                let status = resp.status().as_u16();
                let body = resp.text().await.expect("complete body");
                assert!(!body.is_empty() && !body.contains("<xpage"), "{body}");
                match status {
                    503 => Seen::Refused503,
                    500 => Seen::Error500,
                    other => panic!("unexpected status {other}"),
                }
            }
        };
        outcomes.push(seen);
    }
    for kind in [Seen::Refused503, Seen::Error500, Seen::Lost] {
        assert!(outcomes.contains(&kind), "{kind:?} never seen: {outcomes:?}");
    }
    let s = stats(&server).await;
    assert_eq!(s["faults_injected"], 30, "{s}");

    // A second server on the same database, without faults, shows what was committed.
    let reader = TestServer::start_on(tempfile::tempdir().unwrap(), server.db.clone(), &[]);
    let body = find(&reader, &token, "fault").await;
    for (i, seen) in outcomes.iter().enumerate() {
        let present = body.contains(&format!("<lastname>Fault{i:02}</lastname>"));
        assert_eq!(present, *seen == Seen::Lost, "Fault{i:02}: {seen:?}");
    }
    let lost = outcomes.iter().filter(|s| **s == Seen::Lost).count() as u32;
    assert_eq!(attr(&body, "total-data"), lost);
}

#[tokio::test]
async fn privacy_refusal_after_deny_until_allow() {
    let server = TestServer::start(&[]);
    let token = server.token("alice");
    let cid = add(&server, &token, &[("lastname", "Before")]).await;
    let out = server.sandbox_cmd(&["deny", "--user", "alice"]);
    assert!(out.status.success());
    let (status, body) = call(&server.endpoint, &token, "findcontactlist", &[("search", "b")]).await;
    assert_eq!(status, 500);
    assert_eq!(
        body.trim(),
        "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<error><code>-3</code><detail>PrivacyAccessDeniedException</detail>\
         <url>http://privacy.sandbox.invalid/privacy/interaction.do?family=contact&amp;serviceId=SANDBOX&amp;attributes=,see</url></error>"
    );
    let (status, body) = call(&server.endpoint, &token, "addcontact", &[("lastname", "During")]).await;
    assert_eq!(status, 500);
    assert!(body.contains("attributes=,add</url>") && !body.contains("xpage"), "{body}");
    let (status, _) = add_picture(&server.endpoint, &token, "addpicture", &cid, GIF.to_vec()).await;
    assert_eq!(status, 500);
    // Another user is not affected.
    let bob = server.token("bob");
    assert_eq!(result_code(&find(&server, &bob, "b").await), 0);
    assert!(server.sandbox_cmd(&["allow", "--user", "alice"]).status.success());
    let body = find(&server, &token, "b").await;
    assert_eq!(ids(&body), vec![cid.clone()], "nothing was written while denied");
    assert_eq!(stats(&server).await["rejected"]["privacy"], 3);
}

#[tokio::test]
async fn service_auth_is_http_basic() {
    let server = TestServer::start(&["--service-auth", "SVC123:s3cret"]);
    let token = server.token("alice");
    let url = format!("{}?action=findcontactlist&search=a&token={}", server.endpoint, enc(&token));
    let expected_body =
        "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<error><code>-1</code><detail>ServiceAuthenticationException</detail></error>";
    for builder in [http().get(&url), http().get(&url).basic_auth("SVC123", Some("wrong"))] {
        let resp = builder.send().await.unwrap();
        assert_eq!(resp.status(), 401);
        assert!(resp.headers().contains_key("www-authenticate"));
        assert_eq!(resp.text().await.unwrap().trim(), expected_body);
    }
    let resp = http().get(&url).basic_auth("SVC123", Some("s3cret")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(result_code(&resp.text().await.unwrap()), 0);
    assert_eq!(stats(&server).await["rejected"]["unauthorized"], 2);
}

#[tokio::test]
async fn tokens_must_be_percent_encoded() {
    let server = TestServer::start(&[]);
    let token = server.token("alice");
    for c in ['+', '/', '=', '|'] {
        assert!(token.contains(c), "token lacks {c}");
    }
    assert!(token.starts_with("B64") && token.contains("|sau=|ted="));
    let raw = format!("{}?action=findcontactlist&search=a&token={token}", server.endpoint);
    let body = http().get(raw).send().await.unwrap().text().await.unwrap();
    assert_eq!(result_code(&body), -5, "un-encoded '+' reads as a space: {body}");
    assert_eq!(result_code(&find(&server, &token, "a").await), 0);
    assert!(!body.contains(&token) && !body.contains(&token.replace('+', " ")), "token never echoed");
}

#[tokio::test]
async fn stats_json_has_the_documented_keys() {
    let server = TestServer::start(&[]);
    let token = server.token("alice");
    find(&server, &token, "a").await;
    call(&server.endpoint, &token, "bogus", &[]).await;
    let s = stats(&server).await;
    for action in
        ["findcontactlist", "getcontact", "addcontact", "adddevice", "getpicture", "addpicture", "unknown"]
    {
        assert!(s["requests"][action].is_u64(), "requests.{action}: {s}");
    }
    assert_eq!(s["requests"]["findcontactlist"], 1);
    assert_eq!(s["requests"]["unknown"], 1);
    for key in ["rate_limited", "invalid", "unauthorized", "privacy", "invalid_user", "not_found"] {
        assert!(s["rejected"][key].is_u64(), "rejected.{key}: {s}");
    }
    assert_eq!(s["rejected"]["invalid"], 1);
    assert_eq!(s["faults_injected"], 0);
}

#[tokio::test]
async fn search_is_a_folded_prefix_on_names() {
    let server = TestServer::start(&[]);
    let t = server.token("alice");
    let emile = add(&server, &t, &[("firstname", "Émile"), ("lastname", "ZOLA")]).await;
    let jean = add(&server, &t, &[("firstname", "Jean Pierre"), ("lastname", "Léaud")]).await;
    let acme = add(&server, &t, &[("company", "Orange Business")]).await;
    let nick = add(&server, &t, &[("nickname", "Zed"), ("company", "Nope Inc")]).await;
    let ann = add(&server, &t, &[("firstname", "Ann"), ("company", "Orange")]).await;

    assert_eq!(ids(&find(&server, &t, "emile").await), vec![emile.clone()]);
    assert_eq!(ids(&find(&server, &t, "EMI").await), vec![emile.clone()]);
    assert_eq!(ids(&find(&server, &t, "zol").await), vec![emile.clone()]);
    assert_eq!(ids(&find(&server, &t, "leau").await), vec![jean.clone()]);
    assert_eq!(ids(&find(&server, &t, "mile").await), Vec::<String>::new(), "prefix, not substring");
    assert_eq!(ids(&find(&server, &t, "\"jean pi\"").await), vec![jean.clone()]);
    assert_eq!(ids(&find(&server, &t, "\"jean  PI\"").await), vec![jean.clone()]);
    // Company only for contacts with neither name; listed by it.
    let body = find(&server, &t, "ora").await;
    assert_eq!(ids(&body), vec![acme.clone()]);
    assert!(body.contains("<company>Orange Business</company>"), "{body}");
    assert_eq!(ids(&find(&server, &t, "ann").await), vec![ann]);
    // Nickname before company.
    assert_eq!(ids(&find(&server, &t, "zed").await), vec![nick.clone()]);
    assert!(ids(&find(&server, &t, "nope").await).is_empty());
    // `z` matches ZOLA (last name) and Zed (nickname); sorted by folded last name (or the name
    // a nameless contact is listed under).
    assert_eq!(ids(&find(&server, &t, "z").await), vec![nick, emile]);
}

#[tokio::test]
async fn concurrent_writes_all_land() {
    let server = TestServer::start(&[]);
    let token = server.token("alice");
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let (ep, token) = (server.endpoint.clone(), token.clone());
            tokio::spawn(async move {
                let name = format!("Para{i:02}");
                added_id(
                    &call(&ep, &token, "addcontact", &[("lastname", &name), ("emailperso", "p@x")]).await.1,
                )
            })
        })
        .collect();
    let mut ids_seen = std::collections::HashSet::new();
    for t in tasks {
        assert!(ids_seen.insert(t.await.unwrap()));
    }
    assert_eq!(attr(&find(&server, &token, "para").await, "total-data"), 40);
}

#[tokio::test]
async fn seed_writes_addresses_marital_status_and_devices() {
    let server = TestServer::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let vcf = dir.path().join("seed.vcf");
    let photo = base64::engine::general_purpose::STANDARD.encode(GIF);
    std::fs::write(
        &vcf,
        format!(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Smith;Robert;;Mr.;\r\nFN:Robert Smith\r\nORG:Custland Ltd\r\n\
             BDAY:1951-01-01\r\nEMAIL;TYPE=WORK:rob@custland.com\r\nTEL;TYPE=CELL:0612345678\r\n\
             TEL;TYPE=HOME,VOICE:0123456789\r\nURL:www.robsmith.com\r\n\
             ADR;TYPE=HOME:;Appt 34;24\\, Fascination Street;London;England;766546;UK\r\n\
             PHOTO;ENCODING=b;TYPE=GIF:{photo}\r\nEND:VCARD\r\n\
             BEGIN:VCARD\r\nVERSION:3.0\r\nN:Doe;Jane;;;\r\nFN:Jane Doe\r\nEND:VCARD\r\n"
        ),
    )
    .unwrap();
    let out = server.sandbox_cmd(&["seed", "--user", "alice", vcf.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("seeded 2 contacts"));
    let token = server.token("alice");
    let body = find(&server, &token, "smith").await;
    let cid = ids(&body).pop().expect("seeded contact found");
    let (_, body) = call(&server.endpoint, &token, "getcontact", &[("cid", &cid)]).await;
    for needle in [
        "<civility>1</civility>",
        "<birthday>1951-01-01</birthday>",
        "<company>Custland Ltd</company>",
        "info-type=\"pro\" order=\"1\" subtype=\"internet\" type=\"email\">rob@custland.com</device>",
        "subtype=\"cell\" type=\"phone\">0612345678</device>",
        "subtype=\"voice\" type=\"phone\">0123456789</device>",
        "subtype=\"web\" type=\"url\">www.robsmith.com</device>",
        "<address info-type=\"home\">",
        "<streetline1>24, Fascination Street</streetline1>",
        "<streetline2>Appt 34</streetline2>",
        "<zip-code>766546</zip-code>",
        "<city>London</city>",
        "<state>England</state>",
        "<country>UK</country>",
    ] {
        assert!(body.contains(needle), "missing {needle} in {body}");
    }
    let (_, pic) = call(&server.endpoint, &token, "getpicture", &[("cid", &cid)]).await;
    assert!(pic.contains("<typeImage>gif</typeImage>"), "{pic}");
}

#[test]
fn cli_contract_script() {
    if std::process::Command::new("curl").arg("--version").output().is_err() {
        eprintln!("note: curl not found; tests/cli_contract.sh skipped");
        return;
    }
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("cli_contract.sh");
    let out = std::process::Command::new("bash").arg(&script).arg(common::bin()).output().unwrap();
    assert!(
        out.status.success(),
        "cli_contract.sh failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn latency_delays_every_response() {
    let server = TestServer::start(&["--latency-ms", "300"]);
    let token = server.token("alice");
    let started = std::time::Instant::now();
    let (_, body) = call(&server.endpoint, &token, "findcontactlist", &[("search", "a")]).await;
    assert_eq!(result_code(&body), 0);
    assert!(started.elapsed() >= Duration::from_millis(300), "{:?}", started.elapsed());
}

#[tokio::test]
async fn in_process_start_and_shutdown_with_idle_keep_alive_connections() {
    use orange_contacts::sandbox::{self, store::Store, SandboxConfig};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let token = Store::open(&db).unwrap().token_for("alice").unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let handle =
        sandbox::start(SandboxConfig { db: db.clone(), ..SandboxConfig::default() }, listener).await.unwrap();
    assert!(
        handle.endpoint.starts_with("http://127.0.0.1:") && handle.endpoint.ends_with("/PersonalContacts/V1")
    );
    let client = http();
    let url = format!("{}?action=addcontact&lastname=Kept&token={}", handle.endpoint, enc(&token));
    let body = client.get(&url).send().await.unwrap().text().await.unwrap();
    added_id(&body);
    // The client keeps its connection open; shutdown must not wait for it.
    tokio::time::timeout(Duration::from_secs(5), handle.shutdown()).await.expect("shutdown hangs");
    assert!(client.get(&url).send().await.is_err(), "server still answering after shutdown");
}

#[tokio::test]
async fn oversized_form_body_is_cut_off_with_413() {
    // docs/api.md: a body more than 64 MiB beyond the picture limit is cut off with HTTP 413,
    // whatever its content type (a form body too, not only multipart).
    let server = TestServer::start(&["--max-picture-bytes", "1024"]);
    let token = server.token("alice");
    let mut body = format!("action=findcontactlist&token={}&search=a&pad=", enc(&token)).into_bytes();
    body.resize(body.len() + 64 * 1024 * 1024 + 4096, b'x');
    let resp = http()
        .post(&server.endpoint)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 413);
    // A form body within the limit is still read.
    let small = format!("action=findcontactlist&token={}&search=a", enc(&token));
    let resp = http()
        .post(&server.endpoint)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(small)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(result_code(&resp.text().await.unwrap()), 0);
}
