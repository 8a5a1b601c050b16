//! `go test -json` reassembly: any text, cut into test2json events at
//! places the input picks and interleaved over two tests, is put back
//! together line by line; never a panic.
#![no_main]

use gosleuth_text::gotest::Test2Json;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&step, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let step = usize::from(step % 31) + 1;
    let mut t = Test2Json::default();
    let mut got = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, piece) in chars.chunks(step).enumerate() {
        let piece: String = piece.iter().collect();
        let event = serde_json::json!({
            "Action": "output",
            "Package": "p",
            "Test": "TestA",
            "Output": piece,
        })
        .to_string();
        assert!(t.event(&event, &mut got).is_some(), "a test2json event");
        if i % 3 == 0 {
            let other = r#"{"Action":"output","Package":"p","Test":"TestB","Output":"b\n"}"#;
            let mut lines = Vec::new();
            assert!(t.event(other, &mut lines).is_some());
            assert_eq!(lines, vec!["b".to_string()]);
        }
    }
    got.extend(t.finish());
    // Lines within the parser's logical-line limit come back unchanged.
    if text.len() < gosleuth_text::MAX_LOGICAL_LINE {
        let want: Vec<&str> = text
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .filter(|l| !l.is_empty())
            .collect();
        let got: Vec<&str> = got.iter().map(String::as_str).filter(|l| !l.is_empty()).collect();
        assert_eq!(want, got);
    }
    // Any line at all: an event or not, never a panic.
    let _ = Test2Json::default().event(&text, &mut Vec::new());
});
