//! Canonical JSON: object keys sorted (by bytes) at every level, no whitespace, numbers as
//! serde_json writes them (shortest round-trip form), a final newline. The same value always
//! gives the same bytes, whatever order a map was built in.

use serde::Serialize;
use serde_json::Value;

/// `value` as canonical JSON bytes.
pub fn canonical_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let value = serde_json::to_value(value)?;
    let mut out = Vec::new();
    write(&value, &mut out)?;
    out.push(b'\n');
    Ok(out)
}

fn write(value: &Value, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut *out, key)?;
                out.push(b':');
                write(item, out)?;
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(item, out)?;
            }
            out.push(b']');
        }
        scalar => serde_json::to_writer(&mut *out, scalar)?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn keys_are_sorted_at_every_level() {
        let mut inner = HashMap::new();
        inner.insert("b", 1);
        inner.insert("a", 2);
        let value = serde_json::json!({"z": [inner], "y": 0.5});
        assert_eq!(
            canonical_json(&value).unwrap(),
            b"{\"y\":0.5,\"z\":[{\"a\":2,\"b\":1}]}\n"
        );
    }
}
