//! The service's XML → typed responses (used by the client).
//!
//! The seed's own samples are not all well-formed, so reading is deliberately tolerant: the body is
//! read into a small element tree with quick-xml's event reader (end-tag names unchecked, a closing
//! tag closes every element opened after its match, a stray one is ignored), only the first
//! document of a body is read (a sample concatenates two), unknown elements and attributes are
//! ignored, and optional elements may be missing. What is *not* tolerated: a body with no element,
//! a document cut off before its root closes, elements nested deeper than 64, and values the
//! caller cannot use (a picture's base64 with invalid characters, a contact list entry with no id
//! is skipped, an `addcontact` answer with no id). Ids are opaque strings and are never
//! normalised (`1`, `c6` and `C1` are all ids; `c1` and `C1` are different).
//!
//! Every function first looks for the two error shapes: the service layer's
//! `<result>-N</result><error subtype="…" type="N">message</error>` inside a `<command>` (the
//! numeric code is authoritative, from `type`, else from `result`; the message is informative),
//! and the gateway's bare `<error><code>-3</code><detail>…</detail><url>…</url></error>` privacy
//! refusal (the consent URL is XML-unescaped and otherwise kept verbatim).

use std::fmt;

use base64::Engine;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::{
    Address, Civility, ContactDetail, ContactPage, ContactSummary, Device, DeviceSubtype, DeviceType,
    ErrorCode, ImageType, Picture, PrivacyRefusal, ServiceError,
};

/// Why a response could not be turned into the typed answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// The service answered with a service-layer error (`<result>-N</result>` / `<error type>`), or
    /// the gateway with a bare `<error>` envelope other than the privacy refusal (its code is kept
    /// negative, as `ErrorCode::Other(-N)`, so it cannot be confused with a service code).
    Service(ServiceError),
    /// The user has not granted this service access (`<error><code>-3</code>…`).
    Privacy(PrivacyRefusal),
    /// Not a response this parser can read.
    Malformed(String),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Service(e) => {
                write!(f, "service error {}", e.code)?;
                if !e.subtype.is_empty() {
                    write!(f, " [subtype {}]", e.subtype)?;
                }
                if !e.message.is_empty() {
                    write!(f, ": {}", e.message)?;
                }
                Ok(())
            }
            WireError::Privacy(p) => {
                write!(f, "access refused by the user's privacy settings ({} {})", p.code, p.detail)?;
                if !p.url.is_empty() {
                    write!(f, "; consent URL: {}", p.url)?;
                }
                Ok(())
            }
            WireError::Malformed(m) => write!(f, "malformed response: {m}"),
        }
    }
}

impl std::error::Error for WireError {}

fn malformed(msg: impl Into<String>) -> WireError {
    WireError::Malformed(msg.into())
}

/// `findcontactlist` → one page of matches. A missing `<data-list>` is an empty page; missing
/// totals default to what the page holds; entries without an id are skipped (unusable).
///
/// An answer holds up to thousands of entries (4 MiB at the client's limit): each plain entry of a
/// `<data-list>` (a `<data>` whose children are leaves) becomes its summary as soon as it closes,
/// instead of a subtree of elements ten times the size of its text kept until the end. An answer
/// where that could read differently from the whole tree (entries nested deeper, several lists)
/// is read again whole ([`contact_page_of_tree`]).
pub fn contact_page(xml: &str) -> Result<ContactPage, WireError> {
    let mut entries: Vec<ContactSummary> = Vec::new();
    let mut lists = 0;
    let root = read_document_with(xml, &mut |parent, el| {
        if !(el.is("data") && parent.is("data-list") && is_plain_entry(&el)) {
            return Some(el);
        }
        if !parent.entries_read {
            parent.entries_read = true;
            lists += 1;
        }
        entries.extend(summary_of_entry(&el));
        None
    })?;
    if lists == 0 {
        return contact_page_of_tree(&root);
    }
    let command = checked_command(&root)?;
    match command.find("data-list") {
        Some(list) if lists == 1 && list.entries_read && list.find_all("data").is_empty() => {
            Ok(page_of(list, entries))
        }
        _ => contact_page_of_tree(&read_document(xml)?),
    }
}

/// [`contact_page`] from the whole tree.
fn contact_page_of_tree(root: &Element) -> Result<ContactPage, WireError> {
    let command = checked_command(root)?;
    let Some(list) = command.find("data-list") else {
        return Ok(ContactPage { total: 0, pages: 1, page: 1, entries: Vec::new() });
    };
    let entries = list.find_all("data").into_iter().filter_map(summary_of_entry).collect();
    Ok(page_of(list, entries))
}

/// A `<data>` entry whose summary [`contact_page`] reads as it closes: its children are leaves,
/// none of them an element the answer's checks look for anywhere in the tree.
fn is_plain_entry(el: &Element) -> bool {
    el.children.iter().all(|c| {
        c.children.is_empty() && !["data", "data-list", "command", "result", "error"].iter().any(|n| c.is(n))
    })
}

/// The summary of a `<data>` entry: `None` for one of another type or without an id.
fn summary_of_entry(d: &Element) -> Option<ContactSummary> {
    if !d.attr("type").is_none_or(|t| t.trim().eq_ignore_ascii_case("contact")) {
        return None;
    }
    let id = d.attr("id").filter(|id| !id.is_empty())?;
    Some(ContactSummary {
        id: id.to_string(),
        firstname: d.child_text("firstname"),
        lastname: d.child_text("lastname"),
        nickname: d.child_text("nickname"),
        company: d.child_text("company"),
    })
}

/// The page of `list`'s totals with these entries.
fn page_of(list: &Element, entries: Vec<ContactSummary>) -> ContactPage {
    let number = |name: &str| list.attr(name).and_then(|v| v.trim().parse::<u32>().ok());
    ContactPage {
        total: number("total-data").unwrap_or(entries.len() as u32),
        pages: number("nbpage").unwrap_or(1),
        page: number("page").unwrap_or(1),
        entries,
    }
}

/// `getcontact` → the contact. When several `<data>` are present (the seed's sample repeats
/// itself), the one whose id equals `requested_id` wins, else the first.
pub fn contact_detail(xml: &str, requested_id: &str) -> Result<ContactDetail, WireError> {
    let root = read_document(xml)?;
    let command = checked_command(&root)?;
    let candidates = command.find_all("data");
    let data = candidates
        .iter()
        .find(|d| d.attr("id") == Some(requested_id))
        .or_else(|| candidates.first())
        .ok_or_else(|| malformed("getcontact answer has no <data> element"))?;
    let small_number = |name: &str| data.child_text(name).and_then(|v| v.parse::<u8>().ok());
    Ok(ContactDetail {
        id: data.attr("id").unwrap_or(requested_id).to_string(),
        firstname: data.child_text("firstname"),
        lastname: data.child_text("lastname"),
        nickname: data.child_text("nickname"),
        company: data.child_text("company"),
        function: data.child_text("function"),
        department: data.child_text("department"),
        civility: small_number("civility").and_then(Civility::from_code),
        maritalstatus: small_number("maritalstatus"),
        birthday: data.child_text("birthday"),
        devices: data.find_all("device").into_iter().map(device).collect(),
        addresses: data.find_all("address").into_iter().map(address).collect(),
    })
}

fn device(el: &Element) -> Device {
    Device {
        id: el.attr("id").unwrap_or_default().to_string(),
        kind: DeviceType::parse(el.attr("type").unwrap_or_default()),
        subtype: DeviceSubtype::parse(el.attr("subtype").unwrap_or_default()),
        info_type: el.attr("info-type").map(|s| s.trim().to_string()).filter(|s| !s.is_empty()),
        // A display order the client cannot read sorts first rather than failing the contact.
        order: el.attr("order").and_then(|o| o.trim().parse::<u32>().ok()).unwrap_or(1),
        display: el.attr("display").is_none_or(|d| !matches!(d.trim(), "false" | "0" | "no")),
        value: el.text.trim().to_string(),
    }
}

fn address(el: &Element) -> Address {
    Address {
        info_type: el.attr("info-type").map(|s| s.trim().to_string()).filter(|s| !s.is_empty()),
        streetline1: el.child_text("streetline1"),
        streetline2: el.child_text("streetline2"),
        zip_code: el.child_text("zip-code").or_else(|| el.child_text("zipcode")),
        city: el.child_text("city"),
        state: el.child_text("state"),
        country: el.child_text("country"),
    }
}

/// `addcontact` → the new contact's id (`<id>` in the command).
pub fn added_contact(xml: &str) -> Result<String, WireError> {
    let root = read_document(xml)?;
    let command = checked_command(&root)?;
    command
        .find("id")
        .map(|id| id.text.trim().to_string())
        .filter(|id| !id.is_empty())
        .ok_or_else(|| malformed("addcontact answer has no <id>"))
}

/// `adddevice` / `addpicture` → success (`<result>0</result>`).
pub fn ok(xml: &str) -> Result<(), WireError> {
    let root = read_document(xml)?;
    let command = checked_command(&root)?;
    match command.find("result") {
        Some(_) => Ok(()),
        None => Err(malformed("answer has no <result>")),
    }
}

/// `getpicture` → the picture, or `None` when the contact has none (no `<filename>` with content).
/// The base64 `content` attribute may be wrapped with any whitespace; the format comes from
/// `typeImage` wherever it sits in the command, else from the bytes themselves.
pub fn picture(xml: &str) -> Result<Option<Picture>, WireError> {
    let root = read_document(xml)?;
    let command = checked_command(&root)?;
    let Some(file) = command.find_all("filename").into_iter().find(|f| f.attr("content").is_some()) else {
        return Ok(None);
    };
    let encoded: String =
        file.attr("content").unwrap_or_default().chars().filter(|c| !c.is_whitespace()).collect();
    if encoded.is_empty() {
        return Ok(None);
    }
    let content = base64_engine()
        .decode(encoded.as_bytes())
        .map_err(|e| malformed(format!("picture content is not base64: {e}")))?;
    let image_type = command
        .find("typeImage")
        .and_then(|t| ImageType::parse(&t.text))
        .or_else(|| ImageType::sniff(&content));
    Ok(Some(Picture { id: file.attr("id").map(str::to_string), content, image_type }))
}

/// Standard alphabet; padding optional (a server that drops `=` still decodes).
fn base64_engine() -> base64::engine::GeneralPurpose {
    base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    )
}

/// Finds the error shapes, then the `<command>` the answer is about.
fn checked_command(root: &Element) -> Result<&Element, WireError> {
    if root.is("error") {
        return Err(gateway_error(root));
    }
    if let Some(envelope) = root.find_all("error").into_iter().find(|e| e.child("code").is_some()) {
        return Err(gateway_error(envelope));
    }
    let command = if root.is("command") {
        root
    } else {
        root.find("command").ok_or_else(|| malformed(format!("no <command> in <{}>", root.name)))?
    };
    let result_text = command.find("result").map(|r| r.text.trim());
    let result = result_text.and_then(|r| r.parse::<i32>().ok());
    let error = command.find("error");
    // An <error> element is an error whatever else the answer says; its code comes from `type`,
    // else from <result>, else it is unknown (0).
    if let Some(error) = error {
        let type_code = error.attr("type").and_then(|t| t.trim().parse::<i32>().ok());
        let code = type_code.or(result.filter(|r| *r != 0)).unwrap_or(0);
        return Err(WireError::Service(ServiceError {
            code: ErrorCode::from_code(code),
            subtype: error.attr("subtype").unwrap_or_default().trim().to_string(),
            message: error.text.trim().to_string(),
        }));
    }
    match (result_text, result) {
        (Some(text), None) => Err(malformed(format!("<result> is not a number: {:?}", short(text)))),
        (_, Some(code)) if code != 0 => Err(WireError::Service(ServiceError {
            code: ErrorCode::from_code(code),
            subtype: String::new(),
            message: String::new(),
        })),
        _ => Ok(command),
    }
}

/// The gateway's bare `<error><code>…</code><detail>…</detail><url>…</url></error>`.
fn gateway_error(envelope: &Element) -> WireError {
    let code = envelope.child_text("code").and_then(|c| c.parse::<i32>().ok());
    let detail = envelope.child_text("detail").unwrap_or_default();
    let url = envelope.child_text("url").unwrap_or_default();
    match code {
        Some(-3) => WireError::Privacy(PrivacyRefusal { code: -3, detail, url }),
        None if detail.contains("PrivacyAccessDenied") => {
            WireError::Privacy(PrivacyRefusal { code: -3, detail, url })
        }
        // Gateway codes (bad service credentials, invalid token, …) stay negative.
        Some(n) => WireError::Service(ServiceError {
            code: ErrorCode::Other(-n.saturating_abs()),
            subtype: String::new(),
            message: detail,
        }),
        None => match envelope.text.trim() {
            "" => malformed("<error> envelope without a numeric <code>"),
            text => WireError::Service(ServiceError {
                code: ErrorCode::Other(0),
                subtype: String::new(),
                message: text.to_string(),
            }),
        },
    }
}

fn short(s: &str) -> String {
    s.trim().chars().take(40).collect()
}

/// A parsed element: local name, attributes (unescaped), the concatenation of its own text
/// (character data, references and CDATA; comments dropped), and child elements.
#[derive(Debug, Default)]
struct Element {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<Element>,
    /// Entries of this element were read into summaries as they closed ([`contact_page`]).
    entries_read: bool,
}

impl Element {
    fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(name))
    }

    /// A direct child's text, trimmed; empty or missing → `None`.
    fn child_text(&self, name: &str) -> Option<String> {
        self.child(name).map(|c| c.text.trim().to_string()).filter(|t| !t.is_empty())
    }

    /// First descendant (not self) with that name, depth first in document order.
    fn find(&self, name: &str) -> Option<&Element> {
        self.children.iter().find_map(|c| if c.is(name) { Some(c) } else { c.find(name) })
    }

    /// Every descendant with that name, in document order (not looking inside matches).
    fn find_all(&self, name: &str) -> Vec<&Element> {
        let mut out = Vec::new();
        self.collect(name, &mut out);
        out
    }

    fn collect<'a>(&'a self, name: &str, out: &mut Vec<&'a Element>) {
        for c in &self.children {
            if c.is(name) {
                out.push(c);
            } else {
                c.collect(name, out);
            }
        }
    }
}

/// Deepest element nesting read. The API's answers nest six deep; a deeper body is refused before
/// the tree is built, since walking (and dropping) the tree recurses once per level and a hostile
/// or broken endpoint could otherwise overflow the stack.
const MAX_DEPTH: usize = 64;

/// Reads the first document of a body into an element tree.
fn read_document(xml: &str) -> Result<Element, WireError> {
    read_document_with(xml, &mut |_, el| Some(el))
}

/// [`read_document`], each closed element passed to `on_close` with its parent before it is added
/// to it: what it returns is added (`None`: nothing, the element was consumed).
fn read_document_with(
    xml: &str,
    on_close: &mut dyn FnMut(&mut Element, Element) -> Option<Element>,
) -> Result<Element, WireError> {
    // XML cannot carry NUL; an answer with NULs is UTF-16 (or binary) read as UTF-8, and the
    // event reader would otherwise find elements in it.
    if let Some(at) = memchr::memchr(0, xml.as_bytes()) {
        return Err(malformed(format!("NUL byte at {at}: the answer is not UTF-8 XML (UTF-16? binary?)")));
    }
    let mut reader = Reader::from_str(xml.trim_start_matches('\u{feff}'));
    let config = reader.config_mut();
    config.check_end_names = false;
    config.allow_unmatched_ends = true;
    config.allow_dangling_amp = true;
    let mut stack: Vec<Element> = Vec::new();
    loop {
        let event = reader
            .read_event()
            .map_err(|e| malformed(format!("XML error at byte {}: {e}", reader.error_position())))?;
        match event {
            Event::Start(start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(malformed(format!("elements nested deeper than {MAX_DEPTH}")));
                }
                stack.push(element(&reader, &start))
            }
            Event::Empty(start) => {
                let el = element(&reader, &start);
                match stack.last_mut() {
                    Some(parent) => {
                        if let Some(el) = on_close(parent, el) {
                            parent.children.push(el);
                        }
                    }
                    None => return Ok(el),
                }
            }
            Event::End(end) => {
                let name = String::from_utf8_lossy(end.local_name().as_ref()).into_owned();
                // Close up to the matching open element; a closing tag matching nothing is ignored
                // (the seed's findcontactlist sample omits `</command-list>`).
                let Some(pos) = stack.iter().rposition(|e| e.name.eq_ignore_ascii_case(&name)) else {
                    continue;
                };
                while stack.len() > pos + 1 {
                    let done = stack.pop().expect("stack deeper than pos");
                    let parent = stack.last_mut().expect("pos is below");
                    if let Some(done) = on_close(parent, done) {
                        parent.children.push(done);
                    }
                }
                let done = stack.pop().expect("matched element");
                match stack.last_mut() {
                    Some(parent) => {
                        if let Some(done) = on_close(parent, done) {
                            parent.children.push(done);
                        }
                    }
                    // The root closed: anything after it (a second concatenated document) is ignored.
                    None => return Ok(done),
                }
            }
            Event::Text(text) => {
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&text.decode().map_err(|e| malformed(e.to_string()))?);
                }
            }
            Event::CData(data) => {
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&data.decode().map_err(|e| malformed(e.to_string()))?);
                }
            }
            Event::GeneralRef(reference) => {
                if let Some(el) = stack.last_mut() {
                    let name = reference.decode().map_err(|e| malformed(e.to_string()))?;
                    match reference.resolve_char_ref() {
                        Ok(Some(c)) => el.text.push(c),
                        _ => match quick_xml::escape::resolve_predefined_entity(&name) {
                            Some(s) => el.text.push_str(s),
                            // An undeclared entity is kept as written rather than failing the answer.
                            None => {
                                el.text.push('&');
                                el.text.push_str(&name);
                                el.text.push(';');
                            }
                        },
                    }
                }
            }
            Event::Eof => {
                return Err(match stack.first() {
                    None => malformed("no XML element in the answer"),
                    Some(root) => malformed(format!("answer cut off: <{}> never closed", root.name)),
                })
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
}

fn element(reader: &Reader<&[u8]>, start: &BytesStart<'_>) -> Element {
    let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
    let mut attrs = Vec::new();
    for attr in start.attributes().with_checks(false).flatten() {
        let key = String::from_utf8_lossy(attr.key.local_name().as_ref()).into_owned();
        let value = attr
            .decode_and_unescape_value(reader.decoder())
            .map(|v| v.into_owned())
            .unwrap_or_else(|_| String::from_utf8_lossy(&attr.value).into_owned());
        attrs.push((key, value));
    }
    Element { name, attrs, ..Element::default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xpage(command_body: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" ?><xpage version=\"1.0\"><command-list>\
             <command request=\"g10\" action=\"x\">{command_body}</command></command-list></xpage>"
        )
    }

    /// [`contact_page`] reads plain entries as they close; it answers exactly as the whole tree
    /// does, for plain answers and for those it reads again whole.
    #[test]
    fn page_read_as_entries_close_equals_the_whole_tree() {
        let entry = |id: &str, first: &str| {
            format!(r#"<data view="shallow" id="{id}" type="contact"><firstname>{first}</firstname></data>"#)
        };
        let plain: String = (0..50).map(|i| entry(&format!("c{i}"), &format!("Ann{i}"))).collect();
        let bodies = [
            xpage(&format!(r#"<data-list total-data="70" nbpage="2" page="1">{plain}</data-list><result>0</result>"#)),
            xpage(&format!("<data-list>{plain}<data id=\"e\"/><data type=\"group\" id=\"g\"/><data id=\"\"/></data-list>")),
            // Entries nested deeper, a second list, checks inside entries: read whole.
            xpage(&format!("<data-list>{plain}<group>{}</group></data-list>", entry("deep", "Deep"))),
            xpage(&format!("<data-list>{plain}</data-list><data-list>{}</data-list>", entry("second", "B"))),
            xpage(&format!("<data-list><data id=\"r\"><result>-5</result></data>{plain}</data-list>")),
            xpage(&format!("<data-list>{plain}<data id=\"x\"><error type=\"7\">no</error></data></data-list>")),
            xpage(&format!("<data-list>{plain}<data id=\"n\"><name><firstname>A</firstname></name></data></data-list>")),
            format!("<xpage><data-list>{plain}</data-list><command><result>0</result></command></xpage>"),
            format!("<command><data-list total-data=\"3\">{plain}</command>"),
            xpage(&format!("<data-list>{plain}</data-list><result>-2</result>")),
            xpage("<result>0</result>"),
        ];
        for body in &bodies {
            let whole = read_document(body).and_then(|root| contact_page_of_tree(&root));
            assert_eq!(contact_page(body), whole, "{body}");
        }
        assert_eq!(contact_page(&bodies[0]).unwrap().entries.len(), 50);
        assert_eq!(contact_page(&bodies[2]).unwrap().entries.len(), 51);
    }

    #[test]
    fn page_reads_entries_and_totals() {
        let xml = xpage(
            r#"<data-list total-data="5" nbpage="3" page="2" nbentries="2">
                 <data view="shallow" id="c6" type="contact"><firstname>Ann</firstname></data>
                 <data view="shallow" id="C1" type="contact"><lastname> Lee </lastname><extra>x</extra></data>
               </data-list><result>0</result>"#,
        );
        let page = contact_page(&xml).unwrap();
        assert_eq!((page.total, page.pages, page.page), (5, 3, 2));
        assert_eq!(page.entries.len(), 2);
        assert_eq!(page.entries[0].id, "c6");
        assert_eq!(page.entries[0].firstname.as_deref(), Some("Ann"));
        assert_eq!(page.entries[0].lastname, None);
        assert_eq!(page.entries[1].id, "C1", "ids are never normalised");
        assert_eq!(page.entries[1].lastname.as_deref(), Some("Lee"));
    }

    #[test]
    fn page_without_list_or_totals_is_tolerated() {
        let page = contact_page(&xpage("<result>0</result>")).unwrap();
        assert_eq!(page.entries.len(), 0);
        assert_eq!((page.total, page.pages, page.page), (0, 1, 1));
        let xml = xpage(r#"<data-list><data id="1"/><data><firstname>No id</firstname></data></data-list>"#);
        let page = contact_page(&xml).unwrap();
        assert_eq!(page.entries.len(), 1, "entry without id skipped");
        assert_eq!(page.total, 1);
    }

    #[test]
    fn missing_command_list_end_tag_is_tolerated() {
        // The seed's findcontactlist sample closes </command> then </xpage>, never </command-list>.
        let xml = r#"<?xml version="1.0" encoding="UTF-8" ?><xpage version="1.0"><command-list>
            <command request="g10" action="ctcfindcontactlist"><data-list total-data="1">
            <data id="1" type="contact"><firstname>Orange</firstname></data></data-list>
            <result>0</result></command></xpage>"#;
        let page = contact_page(xml).unwrap();
        assert_eq!(page.entries[0].firstname.as_deref(), Some("Orange"));
    }

    #[test]
    fn stray_end_tag_is_ignored_but_truncation_is_not() {
        let xml = xpage("<result>0</result></nothing><id>7</id>");
        assert_eq!(added_contact(&xml).unwrap(), "7");
        let cut = "<?xml version=\"1.0\"?><xpage><command-list><command><data-list><data id=\"1\">";
        assert!(matches!(contact_page(cut), Err(WireError::Malformed(m)) if m.contains("cut off")));
        assert!(matches!(contact_page(""), Err(WireError::Malformed(_))));
        assert!(matches!(contact_page("   not xml at all"), Err(WireError::Malformed(_))));
    }

    #[test]
    fn utf16_read_as_utf8_is_refused() {
        // Issue 9, item 5: UTF-16 declared as UTF-8 is garbage, never an empty success.
        let doc = xpage("<data-list total-data=\"0\"/><result>0</result>");
        for bom in [&[0xFF, 0xFE][..], &[]] {
            let mut bytes = bom.to_vec();
            bytes.extend(doc.encode_utf16().flat_map(u16::to_le_bytes));
            let text = String::from_utf8_lossy(&bytes);
            assert!(
                matches!(contact_page(&text), Err(WireError::Malformed(m)) if m.contains("NUL")),
                "{bom:?}"
            );
        }
    }

    #[test]
    fn first_of_concatenated_documents_wins() {
        let one = xpage("<result>0</result><id>first</id>");
        let two = xpage("<result>0</result><id>second</id>");
        assert_eq!(added_contact(&format!("{one}{two}")).unwrap(), "first");
        assert_eq!(added_contact(&format!("{one}\n  {two}")).unwrap(), "first");
    }

    fn detail_xml(ids: &[&str]) -> String {
        let datas: String = ids
            .iter()
            .map(|id| {
                format!(
                    r#"<data view="deep" id="{id}" type="contact"><firstname>F{id}</firstname>
                       <civility>2</civility><maritalstatus>1</maritalstatus><birthday>1951-01-01</birthday>
                       <device-list>
                         <device display="false" id="d1" info-type="perso" order="x" subtype="cell" type="phone">+33 6 12</device>
                         <device display="true" id="d2" order="3" subtype="mobile" type="phone" unknown="u">0612</device>
                         <device type="email" subtype="internet">a@b.c</device>
                       </device-list>
                       <address-list><address info-type="home"><city>Paris</city><zip-code>75001</zip-code></address></address-list>
                     </data>"#
                )
            })
            .collect();
        xpage(&format!("<data-list>{datas}</data-list>"))
    }

    #[test]
    fn detail_reads_devices_addresses_and_quirks() {
        let d = contact_detail(&detail_xml(&["C1"]), "C1").unwrap();
        assert_eq!(d.id, "C1");
        assert_eq!(d.civility, Some(Civility::Mrs));
        assert_eq!(d.maritalstatus, Some(1));
        assert_eq!(d.birthday.as_deref(), Some("1951-01-01"));
        assert_eq!(d.devices.len(), 3);
        let cell = &d.devices[0];
        assert_eq!(cell.subtype, DeviceSubtype::Mobile, "cell ≡ mobile");
        assert_eq!(cell.order, 1, "non-numeric order → 1");
        assert!(!cell.display);
        assert_eq!(cell.value, "+33 6 12");
        assert_eq!(cell.info_type.as_deref(), Some("perso"));
        assert_eq!(d.devices[1].subtype, DeviceSubtype::Mobile);
        assert_eq!(d.devices[1].order, 3);
        assert!(d.devices[1].display);
        assert!(d.devices[2].display, "missing display reads as shown");
        assert_eq!(d.devices[2].id, "");
        assert_eq!(d.addresses[0].city.as_deref(), Some("Paris"));
        assert_eq!(d.addresses[0].zip_code.as_deref(), Some("75001"));
        assert_eq!(d.addresses[0].state, None);
        assert_eq!(d.nickname, None);
    }

    #[test]
    fn detail_picks_the_requested_id_among_duplicates() {
        let xml = detail_xml(&["c1", "C1", "1"]);
        assert_eq!(contact_detail(&xml, "C1").unwrap().firstname.as_deref(), Some("FC1"));
        assert_eq!(contact_detail(&xml, "1").unwrap().firstname.as_deref(), Some("F1"));
        assert_eq!(contact_detail(&xml, "zz").unwrap().firstname.as_deref(), Some("Fc1"), "else the first");
        assert!(matches!(contact_detail(&xpage("<result>0</result>"), "1"), Err(WireError::Malformed(_))));
    }

    #[test]
    fn service_error_code_comes_from_type_else_result() {
        let xml = xpage(r#"<result>-100</result><error subtype="0" type="4">'cid' is invalid</error>"#);
        let Err(WireError::Service(e)) = contact_detail(&xml, "1") else { panic!("expected service error") };
        assert_eq!(e.code, ErrorCode::InvalidParameter, "type is authoritative");
        assert_eq!(e.subtype, "0");
        assert_eq!(e.message, "'cid' is invalid");
        let xml = xpage("<result>-5</result>");
        assert!(matches!(
            ok(&xml),
            Err(WireError::Service(ServiceError { code: ErrorCode::InvalidUser, .. }))
        ));
        let xml = xpage(r#"<result>-2</result><error type="bogus">missing</error>"#);
        assert!(matches!(
            added_contact(&xml),
            Err(WireError::Service(ServiceError { code: ErrorCode::MissingParameter, .. }))
        ));
        // The seed's error example is a bare <command> fragment.
        let fragment = r#"<command request="" action="action"><result>-1</result>
            <error subtype="xxx" type="1">message</error></command>"#;
        assert!(matches!(
            picture(fragment),
            Err(WireError::Service(ServiceError { code: ErrorCode::UnknownAction, .. }))
        ));
        assert!(matches!(ok(&xpage("<result>zero</result>")), Err(WireError::Malformed(_))));
    }

    #[test]
    fn privacy_envelope_with_comment_and_escaped_url() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?><error><!--Warning : operation non autorisee--><code>-3</code><detail>PrivacyAccessDeniedException</detail><url>http://int4.mdsp.rec.orange.fr/privacy/interaction.do?family=contact&amp;serviceId=ZXIDHELLOT1184204761&amp;attributes=,see</url></error>"#;
        for result in [contact_page(xml).map(|_| ()), ok(xml), added_contact(xml).map(|_| ())] {
            let Err(WireError::Privacy(p)) = result else { panic!("expected privacy refusal") };
            assert_eq!(p.code, -3);
            assert_eq!(p.detail, "PrivacyAccessDeniedException");
            assert_eq!(
                p.url,
                "http://int4.mdsp.rec.orange.fr/privacy/interaction.do?family=contact&serviceId=ZXIDHELLOT1184204761&attributes=,see"
            );
        }
    }

    #[test]
    fn other_gateway_codes_stay_negative() {
        let xml = "<error><code>-1</code><detail>InvalidServiceException</detail></error>";
        let Err(WireError::Service(e)) = ok(xml) else { panic!("expected service error") };
        assert_eq!(e.code, ErrorCode::Other(-1));
        assert_eq!(e.message, "InvalidServiceException");
        // The most negative code cannot be negated: still an error, not an overflow panic.
        let xml = "<error><code>-2147483648</code><detail>X</detail></error>";
        let Err(WireError::Service(e)) = ok(xml) else { panic!("expected service error") };
        assert_eq!(e.code, ErrorCode::Other(-i32::MAX));
        let Err(WireError::Service(e)) = ok(&xpage("<result>-2147483648</result>")) else {
            panic!("expected service error")
        };
        assert_eq!(e.code, ErrorCode::Other(i32::MAX));
    }

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        let n = 200_000;
        let xml = format!("{}{}", "<a>".repeat(n), "</a>".repeat(n));
        assert!(matches!(contact_page(&xml), Err(WireError::Malformed(_))));
        // Within the bound, nesting is still read.
        let deep = format!("{}<command><result>0</result></command>{}", "<a>".repeat(60), "</a>".repeat(60));
        assert!(ok(&deep).is_ok());
    }

    #[test]
    fn added_contact_reads_opaque_id() {
        assert_eq!(added_contact(&xpage("<result>0</result><id>c6</id>")).unwrap(), "c6");
        assert_eq!(added_contact(&xpage("<result>0</result><id> C1 </id>")).unwrap(), "C1");
        assert!(matches!(added_contact(&xpage("<result>0</result>")), Err(WireError::Malformed(_))));
    }

    #[test]
    fn ok_needs_a_result() {
        assert!(ok(&xpage("<result>0</result>")).is_ok());
        assert!(matches!(ok(&xpage("")), Err(WireError::Malformed(_))));
    }

    #[test]
    fn picture_strips_whitespace_and_finds_type_image_anywhere() {
        // FF D8 FF E0 00 → "/9j/4AA=" ; wrapped with spaces, tabs and newlines.
        let xml = xpage(
            "<typeImage>jpeg</typeImage><data-list><filename content=\"/9j/\n 4A\tA=\" id=\"m1\" subtype=\"picture\" type=\"media\"/>\
             </data-list><result>0</result>",
        );
        let p = picture(&xml).unwrap().unwrap();
        assert_eq!(p.content, vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00]);
        assert_eq!(p.image_type, Some(ImageType::Jpeg));
        assert_eq!(p.id.as_deref(), Some("m1"));
        // typeImage after the data-list, as in the seed, wins over the bytes.
        let xml = xpage(
            "<data-list><filename content=\"/9j/4AA=\"/></data-list><result>0</result><typeImage>gif</typeImage>",
        );
        assert_eq!(picture(&xml).unwrap().unwrap().image_type, Some(ImageType::Gif));
        // No typeImage: the bytes decide.
        let xml = xpage("<data-list><filename content=\"/9j/4AA\"/></data-list><result>0</result>");
        let p = picture(&xml).unwrap().unwrap();
        assert_eq!(p.image_type, Some(ImageType::Jpeg), "unpadded base64 decodes too");
    }

    #[test]
    fn picture_absent_or_invalid() {
        assert_eq!(picture(&xpage("<data-list/><result>0</result>")).unwrap(), None);
        assert_eq!(
            picture(&xpage(r#"<data-list><filename content=" "/></data-list><result>0</result>"#)).unwrap(),
            None
        );
        let bad = xpage(r#"<data-list><filename content="/9j/*4AA="/></data-list><result>0</result>"#);
        assert!(matches!(picture(&bad), Err(WireError::Malformed(m)) if m.contains("base64")));
    }

    #[test]
    fn entities_and_cdata_in_text() {
        let xml = xpage(
            "<data-list><data id=\"1\"><firstname>A&amp;B &#233;&#x41;</firstname>\
             <lastname><![CDATA[<O'Neil>]]></lastname><company>X &unknown; Y</company></data></data-list><result>0</result>",
        );
        let d = contact_detail(&xml, "1").unwrap();
        assert_eq!(d.firstname.as_deref(), Some("A&B éA"));
        assert_eq!(d.lastname.as_deref(), Some("<O'Neil>"));
        assert_eq!(d.company.as_deref(), Some("X &unknown; Y"));
    }
}
