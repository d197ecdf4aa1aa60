//! Typed responses → the XML the service sends (used by the sandbox).
//!
//! Every document is shaped like the seed's samples: the `<?xml … ?>` declaration, then
//! `<xpage version="1.0"><command-list><command request="g10" action="ctc…">…</command>`. The only
//! exception is the gateway layer's bare `<error><code>-N</code>…</error>` envelope (privacy refusal,
//! service authentication), which is not an `<xpage>`. All text and attribute values are escaped;
//! characters XML 1.0 cannot carry at all (most C0 controls) are dropped.

use std::borrow::Cow;
use std::fmt::Write as _;

use base64::Engine as _;

use super::{
    Action, Address, ContactDetail, ContactPage, ContactSummary, Device, ImageType, Picture, PrivacyRefusal,
    ServiceError,
};

/// The XML declaration exactly as the seed's samples write it.
const DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n";

/// The seed's samples all carry `request="g10"`: an opaque correlation tag clients ignore.
const REQUEST_TAG: &str = "g10";

/// A `findcontactlist` answer.
pub fn contact_page(page: &ContactPage) -> String {
    let mut out = open_command(Action::FindContactList);
    let _ = writeln!(
        out,
        "      <data-list total-data=\"{}\" nbpage=\"{}\" page=\"{}\" nbentries=\"{}\">",
        page.total,
        page.pages,
        page.page,
        page.entries.len()
    );
    for entry in &page.entries {
        shallow_entry(&mut out, entry);
    }
    out.push_str("      </data-list>\n");
    close_command(out, 0)
}

fn shallow_entry(out: &mut String, entry: &ContactSummary) {
    let _ = writeln!(out, "        <data view=\"shallow\" id=\"{}\" type=\"contact\">", attr(&entry.id));
    let has_name = entry.firstname.is_some() || entry.lastname.is_some();
    element(out, 10, "firstname", entry.firstname.as_deref());
    element(out, 10, "lastname", entry.lastname.as_deref());
    if !has_name {
        // A contact with neither name is listed under what identifies it instead.
        element(out, 10, "nickname", entry.nickname.as_deref());
        element(out, 10, "company", entry.company.as_deref());
    }
    out.push_str("        </data>\n");
}

/// A `getcontact` answer: exactly one `<data view="deep">`.
pub fn contact_detail(detail: &ContactDetail) -> String {
    let mut out = open_command(Action::GetContact);
    out.push_str("      <data-list>\n");
    let _ = writeln!(out, "        <data view=\"deep\" id=\"{}\" type=\"contact\">", attr(&detail.id));
    element(&mut out, 10, "firstname", detail.firstname.as_deref());
    element(&mut out, 10, "lastname", detail.lastname.as_deref());
    element(&mut out, 10, "nickname", detail.nickname.as_deref());
    let civility = detail.civility.map(|c| c.code().to_string());
    element(&mut out, 10, "civility", civility.as_deref());
    let marital = detail.maritalstatus.map(|m| m.to_string());
    element(&mut out, 10, "maritalstatus", marital.as_deref());
    element(&mut out, 10, "birthday", detail.birthday.as_deref());
    element(&mut out, 10, "company", detail.company.as_deref());
    element(&mut out, 10, "function", detail.function.as_deref());
    element(&mut out, 10, "department", detail.department.as_deref());
    out.push_str("          <device-list>\n");
    for device in &detail.devices {
        device_element(&mut out, device);
    }
    out.push_str("          </device-list>\n");
    out.push_str("          <address-list>\n");
    for address in &detail.addresses {
        address_element(&mut out, address);
    }
    out.push_str("          </address-list>\n");
    out.push_str("        </data>\n");
    out.push_str("      </data-list>\n");
    close_command(out, 0)
}

fn device_element(out: &mut String, d: &Device) {
    let _ = write!(out, "            <device display=\"{}\" id=\"{}\"", d.display, attr(&d.id));
    if let Some(info) = &d.info_type {
        let _ = write!(out, " info-type=\"{}\"", attr(info));
    }
    let _ = writeln!(
        out,
        " order=\"{}\" subtype=\"{}\" type=\"{}\">{}</device>",
        d.order,
        attr(d.subtype.response_str()),
        attr(d.kind.as_str()),
        text(&d.value)
    );
}

fn address_element(out: &mut String, a: &Address) {
    match &a.info_type {
        Some(info) => {
            let _ = writeln!(out, "            <address info-type=\"{}\">", attr(info));
        }
        None => out.push_str("            <address>\n"),
    }
    element(out, 14, "streetline1", a.streetline1.as_deref());
    element(out, 14, "streetline2", a.streetline2.as_deref());
    element(out, 14, "zip-code", a.zip_code.as_deref());
    element(out, 14, "city", a.city.as_deref());
    element(out, 14, "state", a.state.as_deref());
    element(out, 14, "country", a.country.as_deref());
    out.push_str("            </address>\n");
}

/// An `addcontact` success: the new contact's id.
pub fn added_contact(id: &str) -> String {
    let out = open_command(Action::AddContact);
    let mut out = close_result_only(out, 0);
    let _ = writeln!(out, "      <id>{}</id>", text(id));
    finish(out)
}

/// A success with nothing more than `<result>0</result>` (`adddevice`, `addpicture`).
pub fn ok(action: Action) -> String {
    finish(close_result_only(open_command(action), 0))
}

/// A `getpicture` answer. `None`: the contact exists but has no picture (`<result>0</result>`
/// with an empty `<data-list/>`). The base64 is written without whitespace; `typeImage` is a
/// sibling of `filename` inside the data-list, as in the seed's sample.
pub fn picture(picture: Option<&Picture>) -> String {
    let mut out = open_command(Action::GetPicture);
    match picture {
        None => out.push_str("      <data-list/>\n"),
        Some(p) => {
            let content = base64::engine::general_purpose::STANDARD.encode(&p.content);
            let _ =
                write!(out, "      <data-list>\n        <filename content=\"{content}\" display=\"false\"");
            if let Some(id) = &p.id {
                let _ = write!(out, " id=\"{}\"", attr(id));
            }
            out.push_str(" info-type=\"perso\" order=\"1\" subtype=\"picture\" type=\"media\"/>\n");
            if let Some(kind) = p.image_type.or_else(|| ImageType::sniff(&p.content)) {
                let _ = writeln!(out, "        <typeImage>{}</typeImage>", kind.as_str());
            }
            out.push_str("      </data-list>\n");
        }
    }
    close_command(out, 0)
}

/// A service-layer error inside an `<xpage>`: `<result>-N</result><error subtype type>message</error>`.
/// `action` is `None` when the request named no known action (the command's `action` is then empty).
pub fn service_error(action: Option<Action>, error: &ServiceError) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(DECLARATION);
    out.push_str("<xpage version=\"1.0\">\n  <command-list>\n");
    let _ = writeln!(
        out,
        "    <command request=\"{REQUEST_TAG}\" action=\"{}\">",
        action.map(Action::command_action).unwrap_or("")
    );
    let code = error.code.code();
    let _ = writeln!(out, "      <result>-{code}</result>");
    let _ = writeln!(
        out,
        "      <error subtype=\"{}\" type=\"{code}\">{}</error>",
        attr(&error.subtype),
        text(&error.message)
    );
    finish(out)
}

/// The gateway's privacy refusal: a bare `<error>` (not an `<xpage>`), the consent URL XML-escaped.
pub fn privacy_refusal(refusal: &PrivacyRefusal) -> String {
    gateway_error(refusal.code, &refusal.detail, Some(&refusal.url))
}

/// A bare gateway-layer envelope `<error><code>N</code><detail>…</detail>[<url>…</url>]</error>`.
pub fn gateway_error(code: i32, detail: &str, url: Option<&str>) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(DECLARATION);
    let _ = write!(out, "<error><code>{code}</code><detail>{}</detail>", text(detail));
    if let Some(url) = url {
        let _ = write!(out, "<url>{}</url>", text(url));
    }
    out.push_str("</error>\n");
    out
}

fn open_command(action: Action) -> String {
    let mut out = String::with_capacity(512);
    out.push_str(DECLARATION);
    out.push_str("<xpage version=\"1.0\">\n  <command-list>\n");
    let _ = writeln!(out, "    <command request=\"{REQUEST_TAG}\" action=\"{}\">", action.command_action());
    out
}

fn close_result_only(mut out: String, result: i32) -> String {
    let _ = writeln!(out, "      <result>{result}</result>");
    out
}

fn close_command(out: String, result: i32) -> String {
    finish(close_result_only(out, result))
}

fn finish(mut out: String) -> String {
    out.push_str("    </command>\n  </command-list>\n</xpage>\n");
    out
}

/// `<name>value</name>` on its own line, or nothing when the value is absent.
fn element(out: &mut String, indent: usize, name: &str, value: Option<&str>) {
    if let Some(v) = value {
        let _ = writeln!(out, "{:indent$}<{name}>{}</{name}>", "", text(v));
    }
}

/// Whether XML 1.0 can carry the character at all.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Whether `s` can be written as it is: nothing to escape, drop or protect from normalisation.
fn is_plain(s: &str, in_attribute: bool) -> bool {
    s.chars().all(|c| {
        !matches!(c, '<' | '>' | '&' | '\r')
            && (c >= ' ' || c == '\n' || c == '\t')
            && xml_char(c)
            && !(in_attribute && matches!(c, '"' | '\'' | '\n' | '\t'))
    })
}

fn xml_clean(s: &str) -> String {
    s.chars().filter(|c| xml_char(*c)).collect()
}

/// Escaped element text (`<`, `>`, `&`). A carriage return is written as a reference so parsers
/// keep it. Borrowed (no allocation) in the common case of nothing to escape.
fn text(s: &str) -> Cow<'_, str> {
    if is_plain(s, false) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(quick_xml::escape::partial_escape(xml_clean(s).as_str()).replace('\r', "&#13;"))
}

/// Escaped attribute value (quotes too); tab/newline/CR as references so attribute normalisation
/// keeps them.
fn attr(s: &str) -> Cow<'_, str> {
    if is_plain(s, true) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        quick_xml::escape::escape(xml_clean(s).as_str())
            .replace('\r', "&#13;")
            .replace('\n', "&#10;")
            .replace('\t', "&#9;"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Civility, DeviceSubtype, DeviceType, ErrorCode};

    fn detail() -> ContactDetail {
        ContactDetail {
            id: "1".into(),
            firstname: Some("Robert".into()),
            lastname: Some("Smith & <Sons>".into()),
            company: Some("Custland Ltd".into()),
            civility: Some(Civility::Unknown),
            maritalstatus: Some(0),
            birthday: Some("1951-01-01".into()),
            devices: vec![Device {
                id: "1295666158".into(),
                kind: DeviceType::Phone,
                subtype: DeviceSubtype::Mobile,
                info_type: Some("perso".into()),
                order: 1,
                display: true,
                value: "0123456789".into(),
            }],
            addresses: vec![Address {
                info_type: Some("home".into()),
                streetline1: Some("24, Fascination Street".into()),
                zip_code: Some("766546".into()),
                city: Some("London".into()),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn detail_has_one_deep_entry_with_devices_and_addresses() {
        let xml = contact_detail(&detail());
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<xpage version=\"1.0\">"));
        assert!(xml.contains("<command request=\"g10\" action=\"ctcgetcontact\">"));
        assert_eq!(xml.matches("<data ").count(), 1);
        assert!(xml.contains("<data view=\"deep\" id=\"1\" type=\"contact\">"));
        assert!(xml.contains("<lastname>Smith &amp; &lt;Sons&gt;</lastname>"));
        assert!(xml.contains("<civility>0</civility>"));
        assert!(xml.contains("<maritalstatus>0</maritalstatus>"));
        assert!(xml.contains(
            "<device display=\"true\" id=\"1295666158\" info-type=\"perso\" order=\"1\" subtype=\"cell\" \
             type=\"phone\">0123456789</device>"
        ));
        assert!(xml.contains("<address info-type=\"home\">"));
        assert!(xml.contains("<zip-code>766546</zip-code>"));
        assert!(!xml.contains("<streetline2>"), "absent fields are omitted");
        assert!(xml.trim_end().ends_with("</xpage>"));
    }

    #[test]
    fn page_counts_entries_and_lists_identity_for_nameless_contacts() {
        let page = ContactPage {
            total: 5,
            pages: 3,
            page: 2,
            entries: vec![
                ContactSummary {
                    id: "7".into(),
                    firstname: Some("Orange".into()),
                    lastname: Some("World".into()),
                    company: Some("hidden".into()),
                    ..Default::default()
                },
                ContactSummary { id: "9".into(), company: Some("ACME \"SA\"".into()), ..Default::default() },
            ],
        };
        let xml = contact_page(&page);
        assert!(xml.contains("<data-list total-data=\"5\" nbpage=\"3\" page=\"2\" nbentries=\"2\">"));
        assert!(xml.contains("<data view=\"shallow\" id=\"7\" type=\"contact\">"));
        assert!(!xml.contains("hidden"), "company only for contacts with neither name");
        assert!(xml.contains("<company>ACME \"SA\"</company>"));
        assert!(xml.contains("<result>0</result>"));
        assert!(xml.contains("action=\"ctcfindcontactlist\""));
    }

    #[test]
    fn added_contact_answers_updatecontact_with_id() {
        let xml = added_contact("c6");
        assert!(xml.contains("action=\"ctcupdatecontact\""));
        assert!(xml.contains("<result>0</result>\n      <id>c6</id>"));
        assert!(ok(Action::AddDevice).contains("action=\"cdvupdatedevice\""));
        assert!(ok(Action::AddPicture).contains("action=\"ctcaddmedia\""));
    }

    #[test]
    fn picture_has_unwrapped_base64_and_sibling_type() {
        let bytes = b"GIF89a\x01\x00\x01\x00".to_vec();
        let xml = picture(Some(&Picture {
            id: Some("1429530340".into()),
            content: bytes.clone(),
            image_type: None,
        }));
        let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
        assert!(xml.contains(&format!(
            "<filename content=\"{b64}\" display=\"false\" id=\"1429530340\" info-type=\"perso\" order=\"1\" \
             subtype=\"picture\" type=\"media\"/>\n        <typeImage>gif</typeImage>\n      </data-list>"
        )));
        let none = picture(None);
        assert!(none.contains("<data-list/>") && none.contains("<result>0</result>"));
        assert!(none.contains("action=\"ctcgetmedialist\""));
    }

    #[test]
    fn service_error_has_negative_result_and_typed_error() {
        let err = ServiceError {
            code: ErrorCode::DataNotFound,
            subtype: "cid".into(),
            message: "contact '<x>' not found".into(),
        };
        let xml = service_error(Some(Action::GetContact), &err);
        assert!(xml.contains("<result>-100</result>"));
        assert!(xml.contains("<error subtype=\"cid\" type=\"100\">contact '&lt;x&gt;' not found</error>"));
        let unknown = service_error(None, &ServiceError { code: ErrorCode::UnknownAction, ..err });
        assert!(unknown.contains("action=\"\"") && unknown.contains("<result>-1</result>"));
    }

    #[test]
    fn privacy_refusal_is_bare_and_escaped() {
        let xml = privacy_refusal(&PrivacyRefusal {
            code: -3,
            detail: "PrivacyAccessDeniedException".into(),
            url: "http://p.invalid/i.do?family=contact&serviceId=S&attributes=,see".into(),
        });
        assert!(xml.starts_with("<?xml"));
        assert!(!xml.contains("xpage"));
        assert!(xml.contains(
            "<error><code>-3</code><detail>PrivacyAccessDeniedException</detail>\
             <url>http://p.invalid/i.do?family=contact&amp;serviceId=S&amp;attributes=,see</url></error>"
        ));
    }

    #[test]
    fn output_is_well_formed_even_with_control_characters() {
        let mut d = detail();
        d.firstname = Some("a\u{1}b\rc".into());
        d.devices[0].value = "x\"y'z\u{0}".into();
        let xml = contact_detail(&d);
        let mut reader = quick_xml::Reader::from_str(&xml);
        let mut depth = 0i32;
        loop {
            match reader.read_event().expect("well-formed") {
                quick_xml::events::Event::Start(_) => depth += 1,
                quick_xml::events::Event::End(_) => depth -= 1,
                quick_xml::events::Event::Eof => break,
                _ => {}
            }
        }
        assert_eq!(depth, 0);
        assert!(xml.contains("<firstname>ab&#13;c</firstname>"));
    }
}
