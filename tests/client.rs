//! The API client against the real sandbox server (`orange-contacts serve` on 127.0.0.1:0): every
//! method, the error mapping, privacy refusal, throttling, injected faults, timeouts, service
//! credentials, paging, and the user token kept out of every message.

use crate::common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::TestServer;
use orange_contacts::client::{ApiClient, ApiError, ClientConfig};
use orange_contacts::remote::Remote as _;
use orange_contacts::wire::{
    Civility, DeviceSubtype, DeviceType, ErrorCode, ImageType, NewContact, NewDevice, ServiceError,
};

fn config(server: &TestServer, token: String) -> ClientConfig {
    ClientConfig {
        endpoint: server.endpoint.clone(),
        token,
        service_auth: None,
        rate: None,
        concurrency: 4,
        timeout: Duration::from_secs(10),
        retries: 3,
    }
}

fn client_for(server: &TestServer, user: &str) -> (ApiClient, String) {
    let token = server.token(user);
    (ApiClient::new(config(server, token.clone())).unwrap(), token)
}

fn named(last: &str) -> NewContact {
    NewContact { lastname: Some(last.to_string()), ..NewContact::default() }
}

fn device(cid: &str, kind: DeviceType, subtype: DeviceSubtype, order: u32, value: &str) -> NewDevice {
    NewDevice { cid: cid.to_string(), kind, subtype, order, value: value.to_string() }
}

fn jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_fn(16, 12, |x, y| image::Rgb([(x * 15) as u8, (y * 20) as u8, 90]));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img).write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

fn gif() -> Vec<u8> {
    let img = image::RgbaImage::from_pixel(4, 4, image::Rgba([200, 10, 10, 255]));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgba8(img).write_to(&mut out, image::ImageFormat::Gif).unwrap();
    out.into_inner()
}

/// The token in every form a message could carry it.
fn assert_no_token(text: &str, token: &str) {
    let encoded: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
    assert!(!text.contains(token), "token leaked: {text}");
    assert!(!text.contains(&encoded), "encoded token leaked: {text}");
}

#[test]
fn every_method_round_trips() {
    let server = TestServer::start(&[]);
    let (client, _) = client_for(&server, "alice");
    common::rt().block_on(async {
        let new = NewContact {
            lastname: Some("Smith".into()),
            firstname: Some("Robert".into()),
            nickname: Some("Bob".into()),
            company: Some("Custland Ltd".into()),
            function: Some("Singer".into()),
            department: Some("Cure & Co".into()),
            emailperso: Some("rob+516@custland.example".into()),
            birthday: Some("1951-01-01".into()),
            civility: Some(Civility::Mr),
        };
        let cid = client.add_contact(&new).await.unwrap();
        assert!(!cid.is_empty());
        client
            .add_device(&device(&cid, DeviceType::Phone, DeviceSubtype::Mobile, 1, "+44 7700 900123"))
            .await
            .unwrap();
        client
            .add_device(&device(&cid, DeviceType::Phone, DeviceSubtype::Voice, 2, "0123456789"))
            .await
            .unwrap();
        client
            .add_device(&device(&cid, DeviceType::Url, DeviceSubtype::Web, 1, "http://x.example/?a=1&b=2"))
            .await
            .unwrap();

        let page = client.find_contacts("smi", None).await.unwrap();
        assert_eq!(page.total, 1);
        assert_eq!(page.entries[0].id, cid);
        assert_eq!(page.entries[0].firstname.as_deref(), Some("Robert"));
        // Quoted complex term, as the seed describes.
        let page = client.find_contacts("\"Robert\"", None).await.unwrap();
        assert_eq!(page.entries.len(), 1);
        assert!(client.find_contacts("zz", None).await.unwrap().entries.is_empty());

        let detail = client.get_contact(&cid).await.unwrap();
        assert_eq!(detail.id, cid);
        assert_eq!(detail.lastname.as_deref(), Some("Smith"));
        assert_eq!(detail.nickname.as_deref(), Some("Bob"));
        assert_eq!(detail.company.as_deref(), Some("Custland Ltd"));
        assert_eq!(detail.function.as_deref(), Some("Singer"));
        assert_eq!(detail.department.as_deref(), Some("Cure & Co"));
        assert_eq!(detail.birthday.as_deref(), Some("1951-01-01"));
        assert_eq!(detail.civility, Some(Civility::Mr));
        let values: Vec<(&DeviceSubtype, &str)> =
            detail.devices.iter().map(|d| (&d.subtype, d.value.as_str())).collect();
        assert!(values.contains(&(&DeviceSubtype::Mobile, "+44 7700 900123")), "{values:?}");
        assert!(values.contains(&(&DeviceSubtype::Voice, "0123456789")), "{values:?}");
        assert!(values.contains(&(&DeviceSubtype::Web, "http://x.example/?a=1&b=2")), "{values:?}");

        assert_eq!(client.get_picture(&cid).await.unwrap(), None);
        let photo = jpeg();
        client.add_picture(&cid, &photo, ImageType::Jpeg).await.unwrap();
        let picture = client.get_picture(&cid).await.unwrap().expect("picture stored");
        assert_eq!(picture.content, photo);
        assert_eq!(picture.image_type, Some(ImageType::Jpeg));

        let other = client.add_contact(&named("Gifford")).await.unwrap();
        assert_ne!(other, cid);
        let small = gif();
        client.add_picture(&other, &small, ImageType::Gif).await.unwrap();
        let picture = client.get_picture(&other).await.unwrap().unwrap();
        assert_eq!((picture.content, picture.image_type), (small, Some(ImageType::Gif)));

        let stats = client.stats();
        assert_eq!(stats.calls["addcontact"], 2);
        assert_eq!(stats.calls["adddevice"], 3);
        assert_eq!(stats.calls["findcontactlist"], 3);
        assert_eq!(stats.calls["getcontact"], 1);
        assert_eq!(stats.calls["getpicture"], 3);
        assert_eq!(stats.calls["addpicture"], 2);
        assert_eq!((stats.retries, stats.throttled, stats.ambiguous), (0, 0, 0));
    });
    let s = server.stats();
    assert_eq!(s["requests"]["addpicture"].as_u64(), Some(2), "{s}");
}

fn service_code(result: Result<impl std::fmt::Debug, ApiError>) -> (ErrorCode, ApiError) {
    match result {
        Err(e @ ApiError::Service { error: ServiceError { code, .. }, .. }) => (code, e),
        other => panic!("expected a service error, got {other:?}"),
    }
}

#[test]
fn service_errors_map_to_their_codes() {
    let server = TestServer::start(&[]);
    let (client, token) = client_for(&server, "bob");
    common::rt().block_on(async {
        let cid = client.add_contact(&named("Known")).await.unwrap();

        // 2: no identifying field.
        let (code, e) = service_code(client.add_contact(&NewContact::default()).await);
        assert_eq!(code, ErrorCode::MissingParameter, "{e}");
        assert!(!e.is_fatal() && !e.is_ambiguous());
        let (code, _) = service_code(
            client.add_device(&device(&cid, DeviceType::Phone, DeviceSubtype::Voice, 1, "")).await,
        );
        assert_eq!(code, ErrorCode::MissingParameter);

        // 4: values the server refuses.
        for bad in [
            device(&cid, DeviceType::Email, DeviceSubtype::Voice, 1, "a@b.example"),
            device(&cid, DeviceType::Phone, DeviceSubtype::Voice, 0, "0102030405"),
            device(&cid, DeviceType::Other("fax".into()), DeviceSubtype::Fax, 1, "0102030405"),
        ] {
            let (code, e) = service_code(client.add_device(&bad).await);
            assert_eq!(code, ErrorCode::InvalidParameter, "{bad:?}: {e}");
        }
        let bad_day = NewContact { birthday: Some("1st of May".into()), ..named("Day") };
        assert_eq!(service_code(client.add_contact(&bad_day).await).0, ErrorCode::InvalidParameter);
        assert_eq!(service_code(client.find_contacts("Kn*", None).await).0, ErrorCode::InvalidParameter);

        // 100: no such contact, for every action taking a cid. Ids are case-sensitive.
        let missing = format!("{cid}-missing");
        assert_eq!(service_code(client.get_contact(&missing).await).0, ErrorCode::DataNotFound);
        assert_eq!(service_code(client.get_picture(&missing).await).0, ErrorCode::DataNotFound);
        let d = device(&missing, DeviceType::Phone, DeviceSubtype::Voice, 1, "0102030405");
        assert_eq!(service_code(client.add_device(&d).await).0, ErrorCode::DataNotFound);
        let pic = client.add_picture(&missing, &jpeg(), ImageType::Jpeg).await;
        assert_eq!(service_code(pic).0, ErrorCode::DataNotFound);
        if cid.to_lowercase() != cid.to_uppercase() {
            let flipped: String = cid
                .chars()
                .map(|c| if c.is_lowercase() { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() })
                .collect();
            assert_eq!(service_code(client.get_contact(&flipped).await).0, ErrorCode::DataNotFound);
        }
        // Not an accepted image.
        let (code, _) =
            service_code(client.add_picture(&cid, b"\x89PNG\r\n\x1a\nnot really", ImageType::Jpeg).await);
        assert_eq!(code, ErrorCode::InvalidParameter);
        // No retry was spent on any of these: they fail the same way every time.
        assert_eq!(client.stats().retries, 0);

        // 5: a token the server does not know: fatal, and never quoted.
        let forged = format!("{token}x");
        let stranger = ApiClient::new(config(&server, forged.clone())).unwrap();
        let err = stranger.find_contacts("a", None).await.unwrap_err();
        assert!(err.is_fatal(), "{err:?}");
        assert_eq!(err.service_code(), Some(ErrorCode::InvalidUser), "{err:?}");
        assert_no_token(&format!("{err} {err:?}"), &forged);
    });
}

#[test]
fn privacy_refusal_is_fatal_with_the_consent_url() {
    let server = TestServer::start(&[]);
    let (client, token) = client_for(&server, "carol");
    let cid = common::rt().block_on(client.add_contact(&named("Before"))).unwrap();
    let out = server.sandbox_cmd(&["deny", "--user", "carol"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    common::rt().block_on(async {
        let results: Vec<ApiError> = vec![
            client.find_contacts("b", None).await.unwrap_err(),
            client.get_contact(&cid).await.unwrap_err(),
            client.add_contact(&named("After")).await.unwrap_err(),
            client
                .add_device(&device(&cid, DeviceType::Phone, DeviceSubtype::Voice, 1, "01"))
                .await
                .unwrap_err(),
            client.get_picture(&cid).await.unwrap_err(),
            client.add_picture(&cid, &jpeg(), ImageType::Jpeg).await.unwrap_err(),
        ];
        for err in results {
            let ApiError::Privacy(refusal) = &err else { panic!("expected privacy refusal: {err:?}") };
            assert!(err.is_fatal());
            assert_eq!(refusal.code, -3);
            assert!(refusal.detail.contains("PrivacyAccessDenied"), "{refusal:?}");
            assert!(refusal.url.starts_with("http"), "{refusal:?}");
            assert!(refusal.url.contains("family=contact"), "{refusal:?}");
            assert!(!refusal.url.contains("&amp;"), "XML-unescaped: {refusal:?}");
            assert!(err.to_string().contains(&refusal.url));
            assert_no_token(&format!("{err} {err:?}"), &token);
        }
        assert_eq!(client.stats().retries, 0, "a refusal is not retried");
    });
    let out = server.sandbox_cmd(&["allow", "--user", "carol"]);
    assert!(out.status.success());
    assert_eq!(common::rt().block_on(client.find_contacts("Before", None)).unwrap().total, 1);
}

#[test]
fn throttled_calls_wait_and_all_succeed() {
    let server = TestServer::start(&["--max-rps", "5"]);
    let token = server.token("dora");
    let client =
        ApiClient::new(ClientConfig { rate: Some(50.0), retries: 5, ..config(&server, token) }).unwrap();
    let started = Instant::now();
    let results = common::rt().block_on(async {
        let calls = (0..25).map(|i| {
            let client = client.clone();
            async move { client.find_contacts(&format!("n{i}"), None).await }
        });
        futures::future::join_all(calls).await
    });
    for r in &results {
        assert!(r.is_ok(), "{r:?}");
    }
    let stats = client.stats();
    eprintln!("throttling: {:?} for 25 calls, {stats:?}", started.elapsed());
    assert!(stats.throttled > 0, "{stats:?}");
    let s = server.stats();
    assert_eq!(s["rejected"]["rate_limited"].as_u64(), Some(stats.throttled), "{s}");
    assert_eq!(stats.calls["findcontactlist"], 25);
    // 25 calls at 5/s with a burst of 5 cannot take much under 4 s.
    assert!(started.elapsed() >= Duration::from_secs(3), "{:?}", started.elapsed());
}

#[test]
fn client_rate_at_the_server_limit_is_never_refused() {
    let server = TestServer::start(&["--max-rps", "5"]);
    let token = server.token("eve");
    let client = ApiClient::new(ClientConfig { rate: Some(5.0), ..config(&server, token) }).unwrap();
    let results = common::rt().block_on(async {
        let calls = (0..15).map(|i| {
            let client = client.clone();
            async move { client.find_contacts(&format!("r{i}"), None).await }
        });
        futures::future::join_all(calls).await
    });
    assert!(results.iter().all(Result::is_ok));
    let s = server.stats();
    assert_eq!(s["rejected"]["rate_limited"].as_u64(), Some(0), "{s}");
    assert_eq!(client.stats().throttled, 0);
}

#[test]
fn injected_faults_reads_recover_writes_are_ambiguous_or_applied() {
    let server = TestServer::start(&["--fail-rate", "0.5", "--fault-seed", "11"]);
    let token = server.token("fay");
    let client = ApiClient::new(ClientConfig { retries: 12, ..config(&server, token.clone()) }).unwrap();
    common::rt().block_on(async {
        let mut created = Vec::new();
        let mut ambiguous = Vec::new();
        for i in 0..30 {
            let name = format!("Fault{i:02}");
            match client.add_contact(&named(&name)).await {
                Ok(cid) => created.push((name, cid)),
                Err(e) if e.is_ambiguous() => {
                    assert_no_token(&format!("{e} {e:?}"), &token);
                    ambiguous.push(name)
                }
                Err(e) => panic!("{name}: a write must succeed or be ambiguous: {e:?}"),
            }
        }
        assert!(!created.is_empty());
        assert!(!ambiguous.is_empty(), "fail-rate 0.5 over 30 writes loses some answers");

        // Reads always get through with retries.
        let all = client.find_all_contacts("Fault").await.unwrap();
        let names: HashSet<String> = all.iter().filter_map(|e| e.lastname.clone()).collect();
        for (name, cid) in &created {
            assert!(names.contains(name), "{name} was created");
            assert_eq!(client.get_contact(cid).await.unwrap().lastname.as_deref(), Some(name.as_str()));
        }
        // The sandbox's only ambiguous fault is a lost answer after the write was committed (its
        // 503 and 500 faults write nothing and were retried): every ambiguous write is in the account.
        for name in &ambiguous {
            assert!(names.contains(name), "ambiguous {name} was applied; account {names:?}");
        }
        assert_eq!(
            all.len(),
            created.len() + ambiguous.len(),
            "no duplicates: refused writes were not applied"
        );
        let stats = client.stats();
        eprintln!("faults: {} created, {} ambiguous, {stats:?}", created.len(), ambiguous.len());
        assert!(stats.retries > 0, "{stats:?}");
        assert_eq!(stats.ambiguous, ambiguous.len() as u64);
    });
}

#[test]
fn slow_answers_time_out() {
    let server = TestServer::start(&["--latency-ms", "1500"]);
    let token = server.token("gus");
    let client = ApiClient::new(ClientConfig {
        timeout: Duration::from_millis(300),
        retries: 1,
        ..config(&server, token.clone())
    })
    .unwrap();
    common::rt().block_on(async {
        let started = Instant::now();
        let read = client.find_contacts("a", None).await.unwrap_err();
        assert!(matches!(read, ApiError::Transport { ambiguous: false, .. }), "{read:?}");
        assert!(read.to_string().contains("timed out"), "{read}");
        let write = client.add_contact(&named("Slow")).await.unwrap_err();
        assert!(write.is_ambiguous(), "{write:?}");
        assert!(!write.is_fatal());
        assert!(started.elapsed() < Duration::from_millis(1500), "{:?}", started.elapsed());
        assert_no_token(&format!("{read:?} {write:?} {read} {write}"), &token);
    });
}

#[test]
fn stopped_server_is_unreachable_and_the_token_stays_hidden() {
    let server = TestServer::start(&[]);
    let (client, token) = client_for(&server, "hal");
    let cid = common::rt().block_on(client.add_contact(&named("Gone"))).unwrap();
    let _kept = server.stop();
    common::rt().block_on(async {
        let errors = [
            client.get_contact(&cid).await.unwrap_err(),
            client.add_contact(&named("Never")).await.unwrap_err(),
            client.add_picture(&cid, &jpeg(), ImageType::Jpeg).await.unwrap_err(),
        ];
        for err in errors {
            assert!(matches!(err, ApiError::Unreachable { .. }), "{err:?}");
            assert!(err.is_fatal() && !err.is_ambiguous());
            assert_no_token(&format!("{err} {err:?} {err:#?}"), &token);
        }
    });
}

#[test]
fn tokens_with_url_special_characters_work_end_to_end() {
    let server = TestServer::start(&[]);
    // Sandbox tokens have the real service's shape (`B64…|sau=…|ted=…|signature`).
    let (client, token) = client_for(&server, "ivy");
    for c in ['+', '/', '=', '|'] {
        assert!(token.contains(c), "sandbox tokens always hold {c:?}");
    }
    common::rt().block_on(async {
        let cid = client.add_contact(&named("Pipe")).await.unwrap();
        client.add_picture(&cid, &jpeg(), ImageType::Jpeg).await.unwrap();
        assert!(client.get_picture(&cid).await.unwrap().is_some());
    });
    // Several users whose tokens differ only by such characters do not see each other's contacts.
    let (other, _) = client_for(&server, "ivy+/=|");
    assert_eq!(common::rt().block_on(other.find_contacts("Pipe", None)).unwrap().total, 0);
}

#[test]
fn service_credentials_are_sent_and_required() {
    let server = TestServer::start(&["--service-auth", "SVC123:s3rv1ce-pwd"]);
    let token = server.token("jay");
    common::rt().block_on(async {
        let with = ApiClient::new(ClientConfig {
            service_auth: Some(("SVC123".into(), "s3rv1ce-pwd".into())),
            ..config(&server, token.clone())
        })
        .unwrap();
        let cid = with.add_contact(&named("Auth")).await.unwrap();
        with.add_picture(&cid, &jpeg(), ImageType::Jpeg).await.unwrap();

        for auth in [None, Some(("SVC123".to_string(), "wrong-pwd-123".to_string()))] {
            let client =
                ApiClient::new(ClientConfig { service_auth: auth, ..config(&server, token.clone()) })
                    .unwrap();
            let err = client.find_contacts("a", None).await.unwrap_err();
            assert!(err.is_fatal(), "{err:?}");
            assert!(!err.to_string().contains("wrong-pwd-123"));
            assert_no_token(&format!("{err} {err:?}"), &token);
        }
    });
}

#[test]
fn paging_is_followed_and_a_server_ignoring_it_is_detected() {
    for (args, expect_all) in
        [(vec!["--page-size", "3"], true), (vec!["--page-size", "3", "--no-paging"], false)]
    {
        let server = TestServer::start(&args);
        let (client, _) = client_for(&server, "kim");
        common::rt().block_on(async {
            for i in 0..8 {
                client.add_contact(&named(&format!("Page{i}"))).await.unwrap();
            }
            let first = client.find_contacts("page", None).await.unwrap();
            assert_eq!((first.total, first.entries.len()), (8, 3));
            assert_eq!(first.pages, 3);
            let all = client.find_all_contacts("page").await.unwrap();
            let ids: HashSet<&str> = all.iter().map(|e| e.id.as_str()).collect();
            assert_eq!(ids.len(), all.len(), "no duplicates");
            assert_eq!(all.len(), if expect_all { 8 } else { 3 }, "{args:?}");
        });
    }
}

#[test]
fn concurrency_cap_is_shared_by_clones() {
    let server = TestServer::start(&["--latency-ms", "200"]);
    let token = server.token("lou");
    let client = ApiClient::new(ClientConfig { concurrency: 2, ..config(&server, token) }).unwrap();
    let started = Instant::now();
    common::rt().block_on(async {
        let calls = (0..6).map(|_| {
            let client = client.clone();
            async move { client.find_contacts("x", None).await.unwrap() }
        });
        futures::future::join_all(calls).await;
    });
    // 6 calls, 2 at a time, 200 ms each: at least 3 rounds.
    assert!(started.elapsed() >= Duration::from_millis(590), "{:?}", started.elapsed());
}

#[test]
fn wrong_endpoint_path_is_fatal_and_the_int_alias_works() {
    let server = TestServer::start(&[]);
    let token = server.token("max");
    common::rt().block_on(async {
        let wrong = ClientConfig {
            endpoint: format!("{}/Nope/V1", server.base_url()),
            ..config(&server, token.clone())
        };
        let err = ApiClient::new(wrong).unwrap().find_contacts("a", None).await.unwrap_err();
        assert!(matches!(err, ApiError::Http { status: 404, .. }), "{err:?}");
        assert!(err.is_fatal());
        assert_no_token(&format!("{err} {err:?}"), &token);

        let int = ClientConfig {
            endpoint: format!("{}/int/PersonalContacts/V1", server.base_url()),
            ..config(&server, token.clone())
        };
        let client = ApiClient::new(int).unwrap();
        let cid = client.add_contact(&named("Alias")).await.unwrap();
        assert_eq!(client.get_contact(&cid).await.unwrap().lastname.as_deref(), Some("Alias"));
    });
}

/// What the client cannot send through its typed methods (an unknown action, no token) still
/// reads back through `wire::parse` as the right service error.
#[test]
fn sandbox_errors_outside_the_typed_methods_parse() {
    use orange_contacts::wire::parse::{self, WireError};
    let server = TestServer::start(&[]);
    let token = server.token("ned");
    let get = |query: Vec<(&str, &str)>| {
        let mut url = url::Url::parse(&server.endpoint).unwrap();
        url.query_pairs_mut().extend_pairs(query);
        common::rt().block_on(async { reqwest::get(url).await.unwrap().text().await.unwrap() })
    };
    let code = |body: &str| match parse::ok(body) {
        Err(WireError::Service(e)) => e.code,
        other => panic!("expected a service error: {other:?} in {body}"),
    };
    assert_eq!(code(&get(vec![("action", "deletecontact"), ("token", &token)])), ErrorCode::UnknownAction);
    assert_eq!(code(&get(vec![("action", "getcontact"), ("cid", "1")])), ErrorCode::MissingParameter);
    assert_eq!(code(&get(vec![("token", &token)])), ErrorCode::MissingParameter);
    assert_eq!(
        code(&get(vec![("action", "getcontact"), ("cid", "1"), ("token", "nope")])),
        ErrorCode::InvalidUser
    );
}
