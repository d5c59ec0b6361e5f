//! Case ids as file names, reversibly: `missing/member_id` is `missing~member_id.snap`,
//! `valid/generated#3` is `valid~generated+3.snap`. Letters, digits, `-`, `_` and `.` stay (but
//! not a leading `.`, which would hide the file); `/` becomes `~`, `#` becomes `+`; anything else,
//! `~`, `+` and `%` included, becomes `%XX` for each of its UTF-8 bytes. So every id has one file
//! name, and every file name one id.

/// The file name stem of `id` (without `.snap`).
pub fn encode(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for (i, byte) in id.bytes().enumerate() {
        match byte {
            b'/' => out.push('~'),
            b'#' => out.push('+'),
            b'.' if i == 0 => out.push_str("%2E"),
            b if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') => out.push(char::from(b)),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The id whose file name stem is `stem`, if `stem` is one [`encode`] makes.
pub fn decode(stem: &str) -> Option<String> {
    let bytes = stem.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'~' => out.push(b'/'),
            b'+' => out.push(b'#'),
            b'%' => {
                let hex = stem.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    let id = String::from_utf8(out).ok()?;
    (encode(&id) == stem).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        for id in [
            "missing/member_id",
            "valid/generated#3",
            "options/truncated-json",
            "a~b+c%d",
            ".hidden/x",
            "mutation/LANG=ru é",
            "a//b##",
            "",
        ] {
            assert_eq!(decode(&encode(id)).as_deref(), Some(id), "{id} as {}", encode(id));
        }
        assert_eq!(encode("missing/member_id"), "missing~member_id");
        assert_eq!(encode("valid/generated#3"), "valid~generated+3");
        assert_eq!(encode("a~b+c%d é"), "a%7Eb%2Bc%25d%20%C3%A9");
    }

    #[test]
    fn names_no_id_has_are_refused() {
        for stem in ["%zz", "%4", "a%2Fb", "%2e", "%FF"] {
            assert_eq!(decode(stem), None, "{stem}");
        }
    }
}
