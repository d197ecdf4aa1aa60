//! Searches whose answer is larger than the client's size limit (issue 12): a big account puts
//! tens of thousands of contacts under one initial, more than the 4 MiB a `findcontactlist`
//! answer may take. Such a search is refined (prefix + next character), with page 2 asked for
//! the true `total-data` to check the refinement against; it never fails the import's records or
//! empties a listing. The limit is lowered here (`ORANGE_CONTACTS_MAX_ANSWER_MB`) so that a few
//! hundred contacts are "too many".

use std::process::Command;

use crate::common::{count_cards, text, TestServer};

/// About 20 KB: a search matching more than ~100 of these contacts is over it.
const SMALL_LIMIT_MB: &str = "0.02";

/// `n` people whose last names all start with M, first names over the alphabet.
fn many_under_m(n: usize) -> String {
    let mut vcf = String::new();
    for i in 0..n {
        let second = (b'a' + (i % 26) as u8) as char;
        let first = (b'a' + ((i * 7 + 3) % 26) as u8).to_ascii_uppercase() as char;
        vcf += &format!(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nN:M{second}rtin{i:04};{first}lice{i:04};;;\r\nFN:{first}lice{i:04} M{second}rtin{i:04}\r\nTEL;TYPE=CELL:+3361{i:07}\r\nEND:VCARD\r\n"
        );
    }
    vcf
}

fn run(server: &TestServer, cmd: &str, args: &[&str]) -> (std::process::Output, serde_json::Value) {
    let report = server.dir.path().join(format!("{cmd}-{}.json", rand::random::<u32>()));
    let mut c: Command = server.cli("u", cmd, args);
    let out =
        c.arg("--report").arg(&report).env("ORANGE_CONTACTS_MAX_ANSWER_MB", SMALL_LIMIT_MB).output().unwrap();
    let json =
        std::fs::read_to_string(&report).map(|s| serde_json::from_str(&s).unwrap()).unwrap_or_default();
    (out, json)
}

#[test]
fn issue12_searches_over_the_answer_limit_are_refined_by_import_export_and_check() {
    let server = TestServer::start(&[]);
    let input = server.dir.path().join("many.vcf");
    std::fs::write(&input, many_under_m(400)).unwrap();
    let input = input.to_str().unwrap();

    let (out, first) = run(&server, "import", &[input]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(first["summary"]["outcomes"]["created"], 400, "{}", text(&out));

    // The account now answers "m" with 400 contacts, over the limit.
    let (out, again) = run(&server, "import", &[input]);
    assert!(out.status.success(), "re-import: {}", text(&out));
    assert_eq!(again["summary"]["outcomes"]["unchanged"], 400, "re-import: {}", text(&out));
    assert!(!text(&out).contains("larger than"), "{}", text(&out));

    let backup = server.dir.path().join("backup.vcf");
    let (out, _) = run(&server, "export", &[backup.to_str().unwrap()]);
    assert!(out.status.success(), "export: {}", text(&out));
    assert_eq!(count_cards(&std::fs::read_to_string(&backup).unwrap()), 400);

    let (out, checked) = run(&server, "check", &[backup.to_str().unwrap()]);
    assert!(out.status.success(), "check: {}", text(&out));
    assert_eq!(checked["summary"]["same"], 400, "check: {}", text(&out));
}

#[test]
fn issue12_a_name_equal_to_an_over_the_limit_prefix_makes_the_listing_incomplete_not_shorter() {
    let server = TestServer::start(&[]);
    server.seed("u", &many_under_m(300));
    let backup = server.dir.path().join("backup.vcf");
    let (out, _) = run(&server, "export", &[backup.to_str().unwrap()]);
    assert!(out.status.success(), "export: {}", text(&out));
    // A contact whose only name is "M": "m" matches it, none of "ma".."mz" does; the total of
    // page 2 shows one contact missing.
    server.seed("u", "BEGIN:VCARD\r\nVERSION:3.0\r\nN:M;;;;\r\nFN:M\r\nEND:VCARD\r\n");
    let (out, _) = run(&server, "export", &[backup.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "export: {}", text(&out));
    assert!(text(&out).contains("incomplete"), "{}", text(&out));
    assert_eq!(count_cards(&std::fs::read_to_string(&backup).unwrap()), 300);
}

#[test]
fn issue12_a_server_that_ignores_paging_still_lets_a_reimport_find_its_contacts() {
    let server = TestServer::start(&["--no-paging"]);
    let input = server.dir.path().join("many.vcf");
    std::fs::write(&input, many_under_m(300)).unwrap();
    let input = input.to_str().unwrap();
    let (out, _) = run(&server, "import", &[input]);
    assert!(out.status.success(), "{}", text(&out));
    // No total-data to check the refinement against: found all the same, with a warning.
    let (out, again) = run(&server, "import", &[input]);
    assert_eq!(again["summary"]["outcomes"]["unchanged"], 300, "re-import: {}", text(&out));
    assert!(text(&out).contains("incomplete"), "{}", text(&out));
    let backup = server.dir.path().join("backup.vcf");
    let (out, _) = run(&server, "export", &[backup.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "export: {}", text(&out));
}
