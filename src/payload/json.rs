//! JSON as Bitrix24 writes it.
//!
//! `Bitrix\Main\Web\Json::encode` calls PHP's `json_encode` with `JSON_HEX_TAG | JSON_HEX_AMP |
//! JSON_HEX_APOS | JSON_HEX_QUOT` (PROTOCOL.md 1.2): `/` becomes `\/`, `<>&'"` become `\u003C`…,
//! and non-ASCII text becomes `\uXXXX` escapes. Handlers must decode that, not only plain JSON.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter, Serializer};

/// Encodes `value` byte for byte as Bitrix24's `Json::encode` would.
pub fn to_bitrix_json(value: &impl Serialize) -> String {
    let mut out = Vec::new();
    let mut serializer = Serializer::with_formatter(&mut out, PhpFormatter);
    // Serialising plain data into a Vec cannot fail.
    value.serialize(&mut serializer).expect("JSON serialisation into memory");
    String::from_utf8(out).expect("the formatter writes ASCII only")
}

struct PhpFormatter;

impl Formatter for PhpFormatter {
    fn write_string_fragment<W: ?Sized + Write>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()> {
        for c in fragment.chars() {
            match c {
                '/' => writer.write_all(b"\\/")?,
                '<' | '>' | '&' | '\'' => write!(writer, "\\u{:04X}", c as u32)?,
                c if c.is_ascii() => writer.write_all(&[c as u8])?,
                c => {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        write!(writer, "\\u{unit:04x}")?;
                    }
                }
            }
        }
        Ok(())
    }

    fn write_char_escape<W: ?Sized + Write>(&mut self, writer: &mut W, escape: CharEscape) -> io::Result<()> {
        match escape {
            CharEscape::Quote => writer.write_all(b"\\u0022"),
            CharEscape::ReverseSolidus => writer.write_all(b"\\\\"),
            CharEscape::Backspace => writer.write_all(b"\\b"),
            CharEscape::FormFeed => writer.write_all(b"\\f"),
            CharEscape::LineFeed => writer.write_all(b"\\n"),
            CharEscape::CarriageReturn => writer.write_all(b"\\r"),
            CharEscape::Tab => writer.write_all(b"\\t"),
            CharEscape::Solidus => writer.write_all(b"\\/"),
            CharEscape::AsciiControl(byte) => write!(writer, "\\u{byte:04x}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_php_json_encode_with_hex_flags() {
        let value = serde_json::json!({"URI": "/a?b=<c>&d='e'\"", "T": "Grüße 😀"});
        assert_eq!(
            to_bitrix_json(&value),
            r#"{"URI":"\/a?b=\u003Cc\u003E\u0026d=\u0027e\u0027\u0022","T":"Gr\u00fc\u00dfe \ud83d\ude00"}"#
        );
    }
}
