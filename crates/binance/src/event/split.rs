//! The slow path of array decoding: cutting a JSON array into its elements
//! without understanding them, so that one bad element costs only itself.
//!
//! The fast path ([`super::envelope`]) reads an `!miniTicker@arr` frame in one
//! serde pass. serde_json cannot go on after an error inside an element (a lone
//! surrogate such as `"\ud800"`, an invalid escape such as `"\x"`, a number
//! where a string belongs), so when that pass stops at element *i*, the frame is
//! cut here into element texts and elements *i*, *i+1*, … are decoded one by
//! one. Frames without trouble never come here.
//!
//! The cut only tracks nesting and strings: inside a string a backslash hides
//! the next byte, whatever it is, so a broken escape stays inside its element.
//! Multi-byte UTF-8 never contains an ASCII byte, so scanning bytes is safe. A
//! text whose structure is broken (unbalanced brackets, a string that never
//! ends, anything after the closing `]`) is not cut: the whole frame is invalid.

/// The trimmed texts of the elements of the JSON array `text` (leading
/// whitespace allowed), or `None` when the array's structure is broken.
///
/// An empty element (`[1,,2]`, `[1,]`) is returned as `""`, for the caller to
/// reject as that element.
pub(crate) fn elements(text: &str) -> Option<Vec<&str>> {
    let bytes = text.as_bytes();
    let open = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    if bytes[open] != b'[' {
        return None;
    }
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = open + 1;
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => i = string_end(bytes, i + 1)?,
            b'[' | b'{' => depth += 1,
            b']' | b'}' if depth > 0 => depth -= 1,
            b']' => {
                let last = text[start..i].trim();
                if !(last.is_empty() && out.is_empty()) {
                    out.push(last);
                }
                let rest_is_blank = bytes[i + 1..].iter().all(u8::is_ascii_whitespace);
                return rest_is_blank.then_some(out);
            }
            // A `}` closing nothing.
            b'}' => return None,
            b',' if depth == 0 => {
                out.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    // The text ended inside the array.
    None
}

/// The index of the quote that ends the string whose text starts at `from`, or `None` if
/// the string never ends. Strings are most of a frame's bytes, so they are skipped with
/// `memchr` (vectorised) rather than byte by byte; a backslash hides the byte after it.
fn string_end(bytes: &[u8], mut from: usize) -> Option<usize> {
    loop {
        let at = from + memchr::memchr2(b'"', b'\\', bytes.get(from..)?)?;
        if bytes[at] == b'"' {
            return Some(at);
        }
        from = at + 2;
    }
}

#[cfg(test)]
mod tests {
    use super::elements;

    #[test]
    fn cuts_arrays_into_elements_and_refuses_broken_structure() {
        let cases: &[(&str, Option<&[&str]>)] = &[
            ("[]", Some(&[])),
            (" [ ] \n", Some(&[])),
            ("[1]", Some(&["1"])),
            (
                r#"[{"a":[1,2]}, {"b":"x,]}"}]"#,
                Some(&[r#"{"a":[1,2]}"#, r#"{"b":"x,]}"}"#]),
            ),
            (
                r#"[{"s":"\x"},{"s":"\"]"}]"#,
                Some(&[r#"{"s":"\x"}"#, r#"{"s":"\"]"}"#]),
            ),
            (
                r#"[{"s":"币安人生USDT"},2]"#,
                Some(&[r#"{"s":"币安人生USDT"}"#, "2"]),
            ),
            ("[1,,2]", Some(&["1", "", "2"])),
            ("[1,]", Some(&["1", ""])),
            ("[{} {}]", Some(&["{} {}"])),
            ("", None),
            ("{}", None),
            ("[", None),
            ("[1,2", None),
            (r#"[{"s":"abc}]"#, None),
            ("[}]", None),
            ("[1] x", None),
            ("[[1]", None),
            (r#"["a\"#, None),
            (r#"["a\""#, None),
            (r#"["a\\"]"#, Some(&[r#""a\\""#])),
            (r#"["\\\"]"]"#, Some(&[r#""\\\"]""#])),
        ];
        for (text, expected) in cases {
            assert_eq!(elements(text).as_deref(), *expected, "{text}");
        }
    }
}
