//! Distinguished names written as strings: RFC 4514 (`CN=a,O=b`) and OpenSSL's slash form
//! (`/O=b/CN=a`).

use super::{Attribute, AttributeValue};

/// Names longer than this are refused: no registered subject comes near it. It is three
/// times 4096 so that any name of up to 4096 bytes, printed with its escapes (`\00` is three
/// bytes for one), parses back.
const MAX_NAME_LEN: usize = 3 * 4096;

/// Names with more attributes than this are refused; comparing RDNs is quadratic in them.
const MAX_ATTRIBUTES: usize = 64;

/// The attribute type keywords, with their OIDs; the first keyword of an OID is the one
/// printed.
const KEYWORDS: [(&str, &str); 19] = [
    ("CN", "2.5.4.3"),
    ("C", "2.5.4.6"),
    ("L", "2.5.4.7"),
    ("ST", "2.5.4.8"),
    ("S", "2.5.4.8"),
    ("STREET", "2.5.4.9"),
    ("O", "2.5.4.10"),
    ("OU", "2.5.4.11"),
    ("SN", "2.5.4.4"),
    ("SERIALNUMBER", "2.5.4.5"),
    ("TITLE", "2.5.4.12"),
    ("POSTALCODE", "2.5.4.17"),
    ("GN", "2.5.4.42"),
    ("GIVENNAME", "2.5.4.42"),
    ("ORGANIZATIONIDENTIFIER", "2.5.4.97"),
    ("DC", "0.9.2342.19200300.100.1.25"),
    ("UID", "0.9.2342.19200300.100.1.1"),
    ("EMAILADDRESS", "1.2.840.113549.1.9.1"),
    ("E", "1.2.840.113549.1.9.1"),
];

/// Why a distinguished name string could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DnParseError {
    /// Nothing but spaces.
    #[error("the distinguished name is empty")]
    Empty,
    /// Over 12288 bytes, or over 64 attributes.
    #[error("the distinguished name is longer than 12288 bytes or 64 attributes")]
    TooLong,
    /// An RDN or attribute with nothing in it, as in `CN=a,,O=b`.
    #[error("the distinguished name has an empty RDN or attribute at byte {0}")]
    EmptyComponent(usize),
    /// An attribute without `=`.
    #[error("attribute {0:?} has no '=': write TYPE=value")]
    MissingEquals(String),
    /// A type that is neither a known keyword nor a dotted OID.
    #[error(
        "attribute type {0:?} is not known: use a keyword such as CN, O, OU, C or a dotted OID"
    )]
    UnknownType(String),
    /// A `#hex` value.
    #[error("the value of {0} is hex-encoded (#...): write it as a string")]
    HexValue(String),
    /// A `\` at the end, or before a character that needs no escape and is not hex.
    #[error("bad escape at byte {0}: use \\\\ before one of , + \" \\ < > ; = # or two hex digits")]
    BadEscape(usize),
    /// Escaped bytes that are not UTF-8.
    #[error("the escaped bytes of {0} are not UTF-8")]
    NotUtf8(String),
}

/// The RDNs of `name`, in certificate order.
pub(super) fn parse(name: &str) -> Result<Vec<Vec<Attribute>>, DnParseError> {
    if name.len() > MAX_NAME_LEN {
        return Err(DnParseError::TooLong);
    }
    let trimmed = trim_end_unescaped(name.trim_start());
    if trimmed.is_empty() {
        return Err(DnParseError::Empty);
    }

    let (body, separator, reverse) = match trimmed.strip_prefix('/') {
        Some(rest) => (rest, b'/', false),
        None => (trimmed, b',', true),
    };
    let offset = name.len() - name.trim_start().len() + (trimmed.len() - body.len());

    let mut rdns = Vec::new();
    let mut count = 0;
    for (start, rdn) in split_unescaped(body, separator)? {
        let mut attributes = Vec::new();
        for (attribute_start, attribute) in split_unescaped(rdn, b'+')? {
            let position = offset + start + attribute_start;
            attributes.push(parse_attribute(attribute, position)?);
        }
        count += attributes.len();
        if count > MAX_ATTRIBUTES {
            return Err(DnParseError::TooLong);
        }
        rdns.push(attributes);
    }
    if reverse {
        rdns.reverse();
    }
    Ok(rdns)
}

/// Splits at `separator` where it is not escaped; each piece with its byte offset.
fn split_unescaped(input: &str, separator: u8) -> Result<Vec<(usize, &str)>, DnParseError> {
    let bytes = input.as_bytes();
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut index = 0;

    while index < bytes.len() {
        match bytes[index] {
            b'\\' => index += 2,
            byte if byte == separator => {
                pieces.push((start, &input[start..index]));
                start = index + 1;
                index += 1;
            }
            _ => index += 1,
        }
    }
    pieces.push((start, &input[start.min(input.len())..]));

    for (position, piece) in &pieces {
        if piece.trim().is_empty() {
            return Err(DnParseError::EmptyComponent(*position));
        }
    }
    Ok(pieces)
}

fn parse_attribute(attribute: &str, position: usize) -> Result<Attribute, DnParseError> {
    let Some((name, value)) = attribute.split_once('=') else {
        return Err(DnParseError::MissingEquals(attribute.trim().to_owned()));
    };
    let name = name.trim();
    let oid = oid_of(name).ok_or_else(|| DnParseError::UnknownType(name.to_owned()))?;

    // Only spaces around a value are insignificant (RFC 4514 section 2.4): a leading form feed
    // is part of the value, and trimming it would expose a `#` behind it.
    let value = value.trim_start_matches(' ');
    if value.starts_with('#') {
        return Err(DnParseError::HexValue(name.to_owned()));
    }
    let value_position = position + attribute.len() - value.len();
    let value = unescape(value, value_position, name)?;

    Ok(Attribute {
        oid,
        value: AttributeValue::Text(value),
    })
}

fn oid_of(name: &str) -> Option<String> {
    if let Some((_, oid)) = KEYWORDS
        .iter()
        .find(|(keyword, _)| keyword.eq_ignore_ascii_case(name))
    {
        return Some((*oid).to_owned());
    }
    let is_oid = !name.is_empty()
        && name
            .split('.')
            .all(|arc| !arc.is_empty() && arc.bytes().all(|b| b.is_ascii_digit()))
        && name.contains('.');
    is_oid.then(|| name.to_owned())
}

/// The keyword printed for an OID, if it has one.
pub(super) fn keyword(oid: &str) -> Option<&'static str> {
    KEYWORDS
        .iter()
        .find(|(_, known)| *known == oid)
        .map(|(keyword, _)| *keyword)
}

/// Undoes RFC 4514 escapes; unescaped spaces at the end are dropped.
fn unescape(value: &str, position: usize, name: &str) -> Result<String, DnParseError> {
    let value = trim_end_unescaped(value);
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;

    while index < bytes.len() {
        if bytes[index] != b'\\' {
            out.push(bytes[index]);
            index += 1;
            continue;
        }
        let bad = DnParseError::BadEscape(position + index);
        let next = *bytes.get(index + 1).ok_or(bad.clone())?;
        if b",+\"\\<>;=# /".contains(&next) {
            out.push(next);
            index += 2;
            continue;
        }
        let hex = bytes.get(index + 1..index + 3).ok_or(bad.clone())?;
        let hex = std::str::from_utf8(hex).map_err(|_| bad.clone())?;
        out.push(u8::from_str_radix(hex, 16).map_err(|_| bad)?);
        index += 3;
    }

    String::from_utf8(out).map_err(|_| DnParseError::NotUtf8(name.to_owned()))
}

fn trim_end_unescaped(value: &str) -> &str {
    let mut end = value.len();
    while end > 0 && value.as_bytes()[end - 1] == b' ' {
        let backslashes = value.as_bytes()[..end - 1]
            .iter()
            .rev()
            .take_while(|byte| **byte == b'\\')
            .count();
        if backslashes % 2 == 1 {
            break;
        }
        end -= 1;
    }
    &value[..end]
}

/// Escapes a value for an RFC 4514 string.
pub(super) fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);

    for (index, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
            || (index == 0 && (c == '#' || c == ' '))
            || (index == last && c == ' ');
        if special {
            out.push('\\');
            out.push(c);
        } else if c.is_control() {
            // As hex pairs, so that no reader takes a control character for whitespace.
            let mut utf8 = [0; 4];
            for byte in c.encode_utf8(&mut utf8).bytes() {
                out.push_str(&format!("\\{byte:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subject::SubjectName;

    fn texts(name: &str) -> Vec<Vec<(String, String)>> {
        parse(name)
            .unwrap()
            .into_iter()
            .map(|rdn| {
                rdn.into_iter()
                    .map(|attribute| match attribute.value {
                        AttributeValue::Text(text) => (attribute.oid, text),
                        AttributeValue::Other(..) => unreachable!(),
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn rfc_4514_string_is_reversed_into_certificate_order() {
        assert_eq!(
            texts("CN=client,O=Acme"),
            [
                vec![("2.5.4.10".to_owned(), "Acme".to_owned())],
                vec![("2.5.4.3".to_owned(), "client".to_owned())],
            ]
        );
    }

    #[test]
    fn escaped_comma_and_hex_pairs_are_part_of_the_value() {
        assert_eq!(
            texts(r"O=Acme\, Inc.,CN=J\C3\A9r\C3\B4me")[1][0].1,
            "Acme, Inc."
        );
        assert_eq!(texts(r"CN=J\C3\A9r\C3\B4me")[0][0].1, "Jérôme");
    }

    #[test]
    fn spaces_around_separators_are_ignored_but_escaped_ones_kept() {
        assert_eq!(texts("CN = client ,  O = Acme")[1][0].1, "client");
        assert_eq!(texts(r"CN=client\ ")[0][0].1, "client ");
    }

    #[test]
    fn dotted_oid_is_a_type() {
        assert_eq!(texts("2.5.4.3=client")[0][0].0, "2.5.4.3");
    }

    #[test]
    fn keywords_are_case_insensitive() {
        assert_eq!(
            texts("cn=x,emailAddress=a@b")[0][0].0,
            "1.2.840.113549.1.9.1"
        );
    }

    #[test]
    fn bad_names_are_clear_errors() {
        assert_eq!(SubjectName::parse("  "), Err(DnParseError::Empty));
        assert_eq!(
            SubjectName::parse("CN=a,,O=b"),
            Err(DnParseError::EmptyComponent(5))
        );
        assert_eq!(
            SubjectName::parse("client"),
            Err(DnParseError::MissingEquals("client".into()))
        );
        assert_eq!(
            SubjectName::parse("XX=a"),
            Err(DnParseError::UnknownType("XX".into()))
        );
        assert_eq!(
            SubjectName::parse("CN=#0403616263"),
            Err(DnParseError::HexValue("CN".into()))
        );
        assert_eq!(
            SubjectName::parse(r"CN=a\"),
            Err(DnParseError::BadEscape(4))
        );
        assert_eq!(
            SubjectName::parse(r"CN=\FF"),
            Err(DnParseError::NotUtf8("CN".into()))
        );
        assert_eq!(
            SubjectName::parse(&"CN=a,".repeat(3000)),
            Err(DnParseError::TooLong)
        );
        assert_eq!(
            SubjectName::parse("CN=a,".repeat(65).trim_end_matches(',')),
            Err(DnParseError::TooLong)
        );
    }

    #[test]
    fn printed_names_parse_back_to_the_same_name() {
        for name in [
            r"CN=a\,b,O=c\+d",
            r"CN=\#x,O=\ lead",
            r"CN=trail\ ,O=q\=r",
            "CN=x+OU=y,O=z",
        ] {
            let parsed = SubjectName::parse(name).unwrap();
            let again = SubjectName::parse(&parsed.to_string()).unwrap();

            assert_eq!(again, parsed, "{name} printed as {parsed}");
        }
    }

    /// Found by the `subject_dn` fuzz target: a 4096-byte name full of NULs printed as
    /// `\00` escapes was too long to parse back.
    #[test]
    fn name_of_nuls_at_the_length_limit_prints_as_a_name_that_parses_back() {
        let value = "\0".repeat(4090);
        let parsed = SubjectName::parse(&format!("CN={value}")).unwrap();

        let printed = parsed.to_string();

        assert!(printed.len() > 4096);
        assert_eq!(SubjectName::parse(&printed).unwrap(), parsed);
    }

    /// Found by the `subject_dn` fuzz target: `\0C` (a form feed) before a `#` printed raw,
    /// and the parser trimmed it as whitespace, leaving a value that looked hex-encoded.
    #[test]
    fn value_of_an_escaped_form_feed_then_hash_prints_as_a_name_that_parses_back() {
        let parsed = SubjectName::parse("c=c+c=\\0c#\0\0\0c").unwrap();

        let printed = parsed.to_string();

        assert!(printed.contains("\\0C#"), "{printed}");
        assert_eq!(SubjectName::parse(&printed).unwrap(), parsed);
    }

    #[test]
    fn only_spaces_around_a_value_are_dropped() {
        assert_eq!(texts("CN=  x"), [[("2.5.4.3".to_owned(), "x".to_owned())]]);
        assert_eq!(
            texts("CN=\tx"),
            [[("2.5.4.3".to_owned(), "\tx".to_owned())]]
        );
    }

    #[test]
    fn mangled_names_never_panic() {
        let good = r"CN=J\C3\A9r\C3\B4me+OU=x,O=Acme\, Inc.,C=US";
        for end in 0..=good.len() {
            if good.is_char_boundary(end) {
                let _ = SubjectName::parse(&good[..end]);
            }
        }
        for position in 0..good.len() {
            for byte in ["\\", ",", "+", "=", "/", "#", " ", "é"] {
                if good.is_char_boundary(position) && good.is_char_boundary(position + 1) {
                    let mangled = format!("{}{byte}{}", &good[..position], &good[position + 1..]);
                    let _ = SubjectName::parse(&mangled);
                }
            }
        }
    }
}
