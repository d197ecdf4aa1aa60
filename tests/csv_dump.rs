use orange_contacts::formats::csv::CsvReader;
#[test]
#[ignore]
fn dump() {
    for path in std::env::var("DUMP").unwrap().split_whitespace() {
        let f = std::fs::File::open(path).unwrap();
        let r = CsvReader::new(f, path.rsplit('/').next().unwrap().to_string()).unwrap();
        println!("##### {path} dialect {:?} charset {}", r.dialect(), r.charset());
        for rec in r {
            println!("-- {} warnings={:?}", rec.source, rec.warnings);
            match rec.contact {
                Err(e) => println!("   ERR {e}"),
                Ok(c) => {
                    println!(
                        "   fn={:?} pre={:?} g={:?} a={:?} f={:?} suf={:?} nick={:?} org={:?}/{:?}/{:?}",
                        c.formatted_name,
                        c.prefix,
                        c.given,
                        c.additional,
                        c.family,
                        c.suffix,
                        c.nickname,
                        c.organization,
                        c.department,
                        c.title
                    );
                    println!(
                        "   bday={:?} text={:?} photo={:?} cats={:?} notes={:?}",
                        c.birthday, c.birthday_text, c.photo, c.categories, c.notes
                    );
                    for e in &c.emails {
                        println!("   email {:?} {:?} pref={} {:?}", e.value, e.place, e.preferred, e.label);
                    }
                    for p in &c.phones {
                        println!(
                            "   phone {:?} {:?} {:?} pref={} {:?}",
                            p.value, p.kind, p.place, p.preferred, p.label
                        );
                    }
                    for u in &c.urls {
                        println!("   url {:?} {:?} {:?}", u.value, u.place, u.label);
                    }
                    for a in &c.addresses {
                        println!("   adr {:?} pob={:?} ext={:?} st={:?} city={:?} reg={:?} pc={:?} ctry={:?} label={:?}", a.place, a.po_box, a.extended, a.street, a.city, a.region, a.postal_code, a.country, a.label);
                    }
                    for x in &c.extra {
                        println!("   extra {:?} = {:?}", x.field, x.value);
                    }
                }
            }
        }
    }
}
