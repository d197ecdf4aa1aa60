//! Header → role: what each column of a CSV file holds, and which exporter wrote the file.

use crate::model::{PhoneKind, Place};

/// Thunderbird's export column order, used for a headerless file with exactly this many columns.
pub(super) const THUNDERBIRD_COLUMNS: [&str; 36] = [
    "First Name",
    "Last Name",
    "Display Name",
    "Nickname",
    "Primary Email",
    "Secondary Email",
    "Screen Name",
    "Work Phone",
    "Home Phone",
    "Fax Number",
    "Pager Number",
    "Mobile Number",
    "Home Address",
    "Home Address 2",
    "Home City",
    "Home State",
    "Home ZipCode",
    "Home Country",
    "Work Address",
    "Work Address 2",
    "Work City",
    "Work State",
    "Work ZipCode",
    "Work Country",
    "Job Title",
    "Department",
    "Organization",
    "Web Page 1",
    "Web Page 2",
    "Birth Year",
    "Birth Month",
    "Birth Day",
    "Custom 1",
    "Custom 2",
    "Custom 3",
    "Custom 4",
];

/// Which exporter the header looks like (informational: the column roles do the work).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    GoogleCurrent,
    GoogleLegacy,
    Outlook,
    Thunderbird,
    /// Localised (German) Outlook, Thunderbird, Windows Live Mail or Mac Address Book headers.
    German,
    /// Recognised by generic header words (name, email, phone, …).
    Generic,
    /// No header row; read in Thunderbird's export column order.
    HeaderlessThunderbird,
    /// No header row and no known column order: every row is an error.
    Unrecognised,
}

/// A part of a postal address column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum AddrPart {
    Street,
    Extended,
    City,
    Region,
    PostalCode,
    Country,
    PoBox,
    /// The whole address as one text (Google `Address 1 - Formatted`, Outlook `Home Address`).
    Formatted,
}

/// Google's numbered column groups (`E-mail 2 - Value`, `Relation 1 - Label`, …).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum GroupKind {
    Email,
    Phone,
    Address,
    Website,
    Event,
    /// Relation, Custom Field, IM, …: kept as extra fields under this name.
    Other(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum GroupAttr {
    Label,
    Value,
    Part(AddrPart),
}

/// What a column holds.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Role {
    /// Metadata with no user content (`E-mail Type`, an unnamed column).
    Ignore,
    /// Outlook's `E-mail Display Name`: `Name (address)`, only read to recover the SMTP address
    /// of an Exchange contact whose `E-mail Address` is an X.500 path.
    EmailDisplayName,
    /// Read but not modelled: goes to `Contact::extra` under the header's name.
    Extra,
    FormattedName,
    Prefix,
    Given,
    Additional,
    Family,
    Suffix,
    Nickname,
    Organization,
    Department,
    Title,
    Birthday,
    BirthYear,
    BirthMonth,
    BirthDayOfMonth,
    Notes,
    Photo,
    Categories,
    Email {
        place: Option<Place>,
        preferred: bool,
    },
    Phone {
        kind: PhoneKind,
        place: Option<Place>,
        preferred: bool,
        label: Option<&'static str>,
    },
    Url {
        place: Option<Place>,
    },
    /// A fixed address column (Outlook `Business City`): one address per place.
    Address {
        place: Option<Place>,
        part: AddrPart,
    },
    Group {
        kind: GroupKind,
        n: u32,
        attr: GroupAttr,
    },
}

#[derive(Debug, Clone)]
pub(super) struct Column {
    pub(super) header: String,
    pub(super) role: Role,
}

/// Header words: lower-case ASCII alphanumeric runs. `E-mail` and `e mail` become `email`;
/// non-ASCII letters are dropped without splitting, so `geschäftlich` and the `gesch\u{FFFD}ftlich`
/// of a lossily re-encoded export both read `geschftlich`.
fn header_tokens(header: &str) -> Vec<String> {
    let lower = header.trim().to_lowercase().replace("e-mail", "email").replace("e mail", "email");
    let mut tokens = Vec::new();
    let mut current = String::new();
    for c in lower.chars() {
        if c.is_ascii_alphanumeric() {
            current.push(c);
        } else if c.is_ascii() && !current.is_empty() {
            tokens.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
}

/// The matching key of a header: case-, whitespace-, hyphen- and punctuation-insensitive.
pub(super) fn header_key(header: &str) -> String {
    header_tokens(header).concat()
}

pub(super) fn classify_columns(names: &[String]) -> Vec<Column> {
    let keys: Vec<String> = names.iter().map(|n| header_key(n)).collect();
    let has_birth_parts = keys
        .iter()
        .any(|k| matches!(k.as_str(), "birthyear" | "birthmonth" | "geburtsjahr" | "geburtsmonat"));
    let has_streets = keys.iter().any(|k| k.ends_with("street"));
    names
        .iter()
        .zip(&keys)
        .map(|(name, key)| {
            let mut role = classify(name);
            // Thunderbird's `Birth Day` (and German `Geburtstag` beside `Geburtsjahr`) is a day number.
            if role == Role::Birthday && has_birth_parts {
                role = Role::BirthDayOfMonth;
            }
            // Outlook's `Home Address` is the formatted address when `Home Street` exists;
            // Thunderbird's is the first street line.
            if let Role::Address { place, part: AddrPart::Street } = role {
                if has_streets && key.ends_with("address") {
                    role = Role::Address { place, part: AddrPart::Formatted };
                }
            }
            Column { header: name.clone(), role }
        })
        .collect()
}

/// A header row names at least one column this reader understands, and holds no email address
/// and no phone number or date (five digits or more): those are data.
pub(super) fn looks_like_header(names: &[String]) -> bool {
    let data_like = |n: &String| n.contains('@') || n.chars().filter(char::is_ascii_digit).count() >= 5;
    !names.iter().any(data_like) && names.iter().any(|n| !matches!(classify(n), Role::Extra | Role::Ignore))
}

pub(super) fn detect_dialect(names: &[String]) -> Dialect {
    let keys: Vec<String> = names.iter().map(|n| header_key(n)).collect();
    let has = |k: &str| keys.iter().any(|x| x == k);
    if has("labels")
        || keys.iter().any(|k| k.starts_with("email") && k.ends_with("label"))
        || has("organizationname")
    {
        Dialect::GoogleCurrent
    } else if has("givenname")
        || has("groupmembership")
        || keys.iter().any(|k| k.ends_with("type") && k.starts_with("phone"))
    {
        Dialect::GoogleLegacy
    } else if has("primaryemail") || has("mobilenumber") {
        Dialect::Thunderbird
    } else if has("emailaddress") && (has("businessphone") || has("mobilephone") || has("homephone")) {
        Dialect::Outlook
    } else if has("vorname") || has("nachname") || has("emailadresse") || has("firma") {
        Dialect::German
    } else {
        Dialect::Generic
    }
}

fn classify(header: &str) -> Role {
    let tokens = header_tokens(header);
    let key = tokens.concat();
    if key.is_empty() {
        return Role::Ignore;
    }
    if let Some(role) = classify_numbered(header) {
        return role;
    }
    if let Some(role) = exact_role(&key) {
        return role;
    }
    classify_by_words(&tokens, &key)
}

/// Google's `Kind N - Attribute` columns.
fn classify_numbered(header: &str) -> Option<Role> {
    let (left, right) = header.split_once(" - ")?;
    let left_tokens = header_tokens(left);
    let (number, kind_tokens) = left_tokens.split_last()?;
    let n: u32 = number.parse().ok()?;
    if kind_tokens.is_empty() {
        return None;
    }
    let attr = header_key(right);
    let kind_key = kind_tokens.concat();
    if kind_key == "organization" {
        return Some(match (n, attr.as_str()) {
            (1, "name") => Role::Organization,
            (1, "title") => Role::Title,
            (1, "department") => Role::Department,
            _ => Role::Extra,
        });
    }
    let kind = match kind_key.as_str() {
        "email" => GroupKind::Email,
        "phone" => GroupKind::Phone,
        "address" => GroupKind::Address,
        "website" => GroupKind::Website,
        "event" => GroupKind::Event,
        _ => {
            let name = left.trim().trim_end_matches(|c: char| c.is_ascii_digit()).trim().to_string();
            GroupKind::Other(name)
        }
    };
    let attr = match attr.as_str() {
        "label" | "type" => GroupAttr::Label,
        "value" => GroupAttr::Value,
        _ if kind == GroupKind::Address => GroupAttr::Part(match attr.as_str() {
            "formatted" => AddrPart::Formatted,
            "street" => AddrPart::Street,
            "city" => AddrPart::City,
            "pobox" => AddrPart::PoBox,
            "region" => AddrPart::Region,
            "postalcode" => AddrPart::PostalCode,
            "country" => AddrPart::Country,
            "extendedaddress" => AddrPart::Extended,
            _ => return Some(Role::Extra),
        }),
        _ => return Some(Role::Extra),
    };
    Some(Role::Group { kind, n, attr })
}

/// Headers known by their exact key (English exporters and their German translations).
fn exact_role(key: &str) -> Option<Role> {
    let phone = |kind, place, preferred, label| Role::Phone { kind, place, preferred, label };
    Some(match key {
        "name" | "displayname" | "fullname" | "formattedname" | "contactname" | "anzeigename" => {
            Role::FormattedName
        }
        "title" | "nameprefix" | "prefix" | "salutation" | "anrede" => Role::Prefix,
        "firstname" | "givenname" | "first" | "forename" | "vorname" => Role::Given,
        "middlename" | "additionalname" | "middle" | "weiterevornamen" | "2vorname" => Role::Additional,
        "lastname" | "familyname" | "surname" | "last" | "nachname" => Role::Family,
        "suffix" | "namesuffix" => Role::Suffix,
        "nickname" | "spitzname" => Role::Nickname,
        "company" | "companyname" | "organization" | "organisation" | "organizationname" | "firma" => {
            Role::Organization
        }
        "department" | "organizationdepartment" | "abteilung" => Role::Department,
        "jobtitle" | "organizationtitle" | "position" | "role" | "arbeitstitel" | "berufsbezeichnung" => {
            Role::Title
        }
        "birthday" | "birthdate" | "dateofbirth" | "bday" | "geburtstag" | "geburtsdatum" => Role::Birthday,
        "birthyear" | "geburtsjahr" => Role::BirthYear,
        "birthmonth" | "geburtsmonat" => Role::BirthMonth,
        "notes" | "note" | "comments" | "comment" | "notizen" | "notiz" | "bemerkungen" => Role::Notes,
        "photo" | "picture" | "foto" => Role::Photo,
        "labels" | "groupmembership" | "categories" | "category" | "groups" | "kategorien" => {
            Role::Categories
        }
        "primaryphone" | "mainphone" | "haupttelefon" | "hauptnummer" => {
            phone(PhoneKind::Voice, None, true, None)
        }
        "companymainphone" | "telefonfirma" => {
            phone(PhoneKind::Voice, Some(Place::Work), false, Some("Company"))
        }
        "assistantsphone" | "telefonassistent" => {
            phone(PhoneKind::Voice, Some(Place::Work), false, Some("Assistant"))
        }
        "callback" | "rckmeldung" => phone(PhoneKind::Voice, None, false, Some("Callback")),
        "isdn" => phone(PhoneKind::Voice, None, false, Some("ISDN")),
        "carphone" | "autotelefon" => phone(PhoneKind::Mobile, None, false, Some("Car")),
        "radiophone" => phone(PhoneKind::Other, None, false, Some("Radio")),
        "ttytddphone" => phone(PhoneKind::Other, None, false, Some("TTY/TDD")),
        "homepage" | "url" | "webpage" | "website" | "webseite" | "web" => Role::Url { place: None },
        "email" | "mail" | "emailaddress" | "emailadresse" => Role::Email { place: None, preferred: false },
        // Words the rules below would misread.
        "telex" | "screenname" | "maidenname" | "shortname" | "fileas" | "location" | "ort"
        | "officelocation" | "managersname" | "assistantsname" | "nameassistent" => Role::Extra,
        _ => return None,
    })
}

fn any_token(tokens: &[String], pred: impl Fn(&str) -> bool) -> bool {
    tokens.iter().any(|t| pred(t))
}

/// Home / work / other from header words (`Business Phone`, `Telefon geschäftlich`, `Privat: Ort`).
fn place_of(tokens: &[String]) -> Option<Place> {
    for t in tokens {
        let starts = |prefixes: &[&str]| prefixes.iter().any(|p| t.starts_with(p));
        if starts(&[
            "business",
            "work",
            "geschftlich",
            "geschaftlich",
            "dienstlich",
            "arbeit",
            "office",
            "company",
            "firma",
        ]) {
            return Some(Place::Work);
        }
        if starts(&["home", "privat", "personal"]) {
            return Some(Place::Home);
        }
        if starts(&["other", "weitere", "andere"]) {
            return Some(Place::Other);
        }
    }
    None
}

fn address_part(tokens: &[String]) -> Option<(AddrPart, bool)> {
    let has = |words: &[&str]| any_token(tokens, |t| words.contains(&t));
    // The bool says whether the word is unambiguous without a place (`City` vs German `Ort`).
    if has(&["pobox", "postfach", "postbox"]) || (has(&["po"]) && has(&["box"])) {
        return Some((AddrPart::PoBox, false));
    }
    if has(&["country", "countryregion"]) {
        return Some((AddrPart::Country, true));
    }
    if has(&["land"]) {
        return Some((AddrPart::Country, false));
    }
    if has(&["state", "province"]) {
        return Some((AddrPart::Region, true));
    }
    if has(&["region", "bundesland", "kanton", "county"]) {
        return Some((AddrPart::Region, false));
    }
    if has(&["zip", "zipcode", "postalcode", "postcode"]) || (has(&["postal"]) && has(&["code"])) {
        return Some((AddrPart::PostalCode, true));
    }
    if has(&["plz", "postleitzahl"]) {
        return Some((AddrPart::PostalCode, false));
    }
    if has(&["city", "town"]) {
        return Some((AddrPart::City, true));
    }
    if has(&["ort", "stadt", "locality"]) {
        return Some((AddrPart::City, false));
    }
    if has(&["street", "address"]) {
        return Some((AddrPart::Street, true));
    }
    if has(&["strasse", "strae", "str", "adresse", "adr", "addr"])
        || any_token(tokens, |t| t.ends_with("adresse") || t.ends_with("address"))
    {
        return Some((AddrPart::Street, false));
    }
    None
}

/// Generic rules: what the words of a header say.
fn classify_by_words(tokens: &[String], key: &str) -> Role {
    let starts = |prefixes: &[&str]| any_token(tokens, |t| prefixes.iter().any(|p| t.starts_with(p)));
    let is = |words: &[&str]| any_token(tokens, |t| words.contains(&t));
    let place = place_of(tokens);
    let preferred = starts(&["primary", "primr", "primae", "haupt"]);
    // Phonetic spellings, instant messaging and user-defined fields: kept as extras.
    if starts(&["phonetic", "yomi", "aussprache", "messenger", "benutzer", "custom", "user"])
        || is(&["im", "imaddress", "aim", "icq", "jabber", "msn", "yahoo", "skype", "qq", "screen", "gtalk"])
        || key.ends_with("yomi")
    {
        return Role::Extra;
    }
    if any_token(tokens, |t| t == "mail" || t.starts_with("email") || t.ends_with("mail")) {
        if is(&["displayname", "angezeigter"]) || (is(&["display"]) && is(&["name"])) {
            return Role::EmailDisplayName;
        }
        if is(&["type", "typ"]) {
            return Role::Ignore;
        }
        return Role::Email { place, preferred };
    }
    if starts(&["web", "homepage", "website"]) || is(&["url", "blog"]) {
        return Role::Url { place };
    }
    let phone = |kind| Role::Phone { kind, place, preferred, label: None };
    if any_token(tokens, |t| t.contains("fax")) {
        return phone(PhoneKind::Fax);
    }
    if starts(&["pager"]) {
        return phone(PhoneKind::Pager);
    }
    let phone_word = is(&["tel", "nr", "number"])
        || starts(&["phone", "telefon", "telephone"])
        || any_token(tokens, |t| t.ends_with("phone"));
    if starts(&["mobil", "handy", "cell"]) || (is(&["car"]) && phone_word) {
        return phone(PhoneKind::Mobile);
    }
    if is(&["video"]) && phone_word {
        return phone(PhoneKind::Video);
    }
    if is(&["tel"])
        || starts(&["phone", "telefon", "telephone"])
        || any_token(tokens, |t| t.ends_with("phone"))
    {
        return phone(PhoneKind::Voice);
    }
    if let Some((part, unambiguous)) = address_part(tokens) {
        if place.is_some() || unambiguous {
            return Role::Address { place, part };
        }
    }
    if key.contains("firstname") || key.contains("givenname") || key.contains("forename") {
        return Role::Given;
    }
    if key.contains("lastname") || key.contains("surname") || key.contains("familyname") {
        return Role::Family;
    }
    if key.contains("middlename") {
        return Role::Additional;
    }
    if is(&["company", "organization", "organisation", "org", "employer"]) {
        return Role::Organization;
    }
    Role::Extra
}
#[cfg(test)]
mod tests {
    use super::*;

    fn role(header: &str) -> Role {
        classify(header)
    }

    #[test]
    fn header_keys_ignore_case_spaces_hyphens_and_punctuation() {
        assert_eq!(header_key("E-mail Address"), "emailaddress");
        assert_eq!(header_key("  email address "), "emailaddress");
        assert_eq!(header_key("E-Mail-Adresse"), "emailadresse");
        assert_eq!(header_key("first_name"), "firstname");
        assert_eq!(header_key("Business Country/Region"), "businesscountryregion");
        assert_eq!(header_key("Telefon (privat)"), header_key("Telefon privat"));
        // Umlauts and the U+FFFD of a lossy re-encoding read the same.
        assert_eq!(header_key("Telefon geschäftlich"), header_key("Telefon gesch\u{FFFD}ftlich"));
        assert_eq!(header_tokens("Mobil-Tel.-Nr."), ["mobil", "tel", "nr"]);
    }

    #[test]
    fn e_mail_and_email_headers_are_the_same_column() {
        assert_eq!(role("E-mail 1 - Value"), role("Email 1 - Value"));
        assert_eq!(
            role("Email 1 - Value"),
            Role::Group { kind: GroupKind::Email, n: 1, attr: GroupAttr::Value }
        );
        assert_eq!(role("E-mail Address"), role("Email Address"));
    }

    #[test]
    fn google_numbered_groups() {
        assert_eq!(
            role("Phone 3 - Label"),
            Role::Group { kind: GroupKind::Phone, n: 3, attr: GroupAttr::Label }
        );
        assert_eq!(role("Phone 3 - Type"), role("Phone 3 - Label"));
        assert_eq!(
            role("Address 2 - Postal Code"),
            Role::Group { kind: GroupKind::Address, n: 2, attr: GroupAttr::Part(AddrPart::PostalCode) }
        );
        assert_eq!(role("Organization 1 - Name"), Role::Organization);
        assert_eq!(role("Organization 1 - Title"), Role::Title);
        assert_eq!(role("Organization 1 - Symbol"), Role::Extra);
        assert_eq!(
            role("Relation 1 - Value"),
            Role::Group { kind: GroupKind::Other("Relation".into()), n: 1, attr: GroupAttr::Value }
        );
        assert_eq!(role("IM 1 - Service"), Role::Extra);
    }

    #[test]
    fn outlook_title_is_the_prefix_and_job_title_the_title() {
        assert_eq!(role("Title"), Role::Prefix);
        assert_eq!(role("Job Title"), Role::Title);
        assert_eq!(role("Name Prefix"), Role::Prefix);
        assert_eq!(role("Anrede"), Role::Prefix);
    }

    #[test]
    fn phones_by_header_words() {
        let phone = |kind, place| Role::Phone { kind, place, preferred: false, label: None };
        assert_eq!(role("Mobile Phone"), phone(PhoneKind::Mobile, None));
        assert_eq!(role("Business Phone 2"), phone(PhoneKind::Voice, Some(Place::Work)));
        assert_eq!(role("Home Fax"), phone(PhoneKind::Fax, Some(Place::Home)));
        assert_eq!(role("Pager Number"), phone(PhoneKind::Pager, None));
        assert_eq!(role("Telefon geschäftlich"), phone(PhoneKind::Voice, Some(Place::Work)));
        assert_eq!(role("Tel. privat"), phone(PhoneKind::Voice, Some(Place::Home)));
        assert_eq!(role("Mobiltelefon"), phone(PhoneKind::Mobile, None));
        assert_eq!(role("Mobil-Tel.-Nr."), phone(PhoneKind::Mobile, None));
        assert_eq!(role("Fax (geschäftlich)"), phone(PhoneKind::Fax, Some(Place::Work)));
        assert_eq!(role("Phone Number"), phone(PhoneKind::Voice, None));
        assert!(matches!(role("Primary Phone"), Role::Phone { preferred: true, .. }));
    }

    #[test]
    fn emails_and_their_metadata() {
        assert_eq!(role("Primary Email"), Role::Email { place: None, preferred: true });
        assert_eq!(role("Primäre E-Mail-Adresse"), Role::Email { place: None, preferred: true });
        assert_eq!(role("E-mail 2 Address"), Role::Email { place: None, preferred: false });
        assert_eq!(role("E-Mail 2: Adresse"), Role::Email { place: None, preferred: false });
        assert_eq!(role("Email Work"), Role::Email { place: Some(Place::Work), preferred: false });
        assert_eq!(role("E-mail Type"), Role::Ignore);
        assert_eq!(role("E-mail Display Name"), Role::EmailDisplayName);
        assert_eq!(role("E-Mail: Angezeigter Name"), Role::EmailDisplayName);
    }

    #[test]
    fn addresses_by_place_and_part() {
        let adr = |place, part| Role::Address { place, part };
        assert_eq!(role("Business Street 2"), adr(Some(Place::Work), AddrPart::Street));
        assert_eq!(role("Home Country/Region"), adr(Some(Place::Home), AddrPart::Country));
        assert_eq!(role("Business Address PO Box"), adr(Some(Place::Work), AddrPart::PoBox));
        assert_eq!(role("Home ZipCode"), adr(Some(Place::Home), AddrPart::PostalCode));
        assert_eq!(role("Land/Region geschäftlich"), adr(Some(Place::Work), AddrPart::Country));
        assert_eq!(role("Bundesland/Kanton privat"), adr(Some(Place::Home), AddrPart::Region));
        assert_eq!(role("Privat: PLZ"), adr(Some(Place::Home), AddrPart::PostalCode));
        assert_eq!(role("Arbeitsadresse Strasse"), adr(Some(Place::Work), AddrPart::Street));
        assert_eq!(role("Weiterer Ort"), adr(Some(Place::Other), AddrPart::City));
        assert_eq!(role("City"), adr(None, AddrPart::City));
        // Outlook's `Ort` is the office location, not a city.
        assert_eq!(role("Ort"), Role::Extra);
    }

    #[test]
    fn outlook_home_address_is_formatted_only_beside_street_columns() {
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let outlook = classify_columns(&names(&["Home Address", "Home Street"]));
        assert_eq!(outlook[0].role, Role::Address { place: Some(Place::Home), part: AddrPart::Formatted });
        let thunderbird = classify_columns(&names(&["Home Address", "Home City"]));
        assert_eq!(thunderbird[0].role, Role::Address { place: Some(Place::Home), part: AddrPart::Street });
    }

    #[test]
    fn birth_day_is_a_day_number_beside_birth_year() {
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(classify_columns(&names(&["Birth Year", "Birth Day"]))[1].role, Role::BirthDayOfMonth);
        assert_eq!(classify_columns(&names(&["Geburtsjahr", "Geburtstag"]))[1].role, Role::BirthDayOfMonth);
        assert_eq!(classify_columns(&names(&["Geburtstag"]))[0].role, Role::Birthday);
    }

    #[test]
    fn look_alike_headers_stay_extra() {
        for h in [
            "Phonetic First Name",
            "Given Name Yomi",
            "Surname Yomi",
            "Screen Name",
            "Manager's Name",
            "File As",
            "IMAddress",
            "Custom 1",
            "Organizational ID Number",
            "Maiden Name",
        ] {
            assert_eq!(role(h), Role::Extra, "{h}");
        }
        assert_eq!(role(""), Role::Ignore);
    }

    #[test]
    fn generic_headers() {
        assert_eq!(role("Contact First Name"), Role::Given);
        assert_eq!(role("last_name"), Role::Family);
        assert_eq!(role("Company Name"), Role::Organization);
        assert_eq!(role("Name"), Role::FormattedName);
    }

    #[test]
    fn a_row_of_data_is_not_a_header() {
        let row = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(!looks_like_header(&row(&["John Doe", "John", "Doe", "john@doe.invalid"])));
        assert!(!looks_like_header(&row(&["1", "2", "3"])));
        assert!(looks_like_header(&row(&["First Name", "Last Name"])));
    }
}
