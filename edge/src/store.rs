//! A job's durable state in its Durable Object's storage: the checkpoint and the event log in
//! pages. A step's pages and the checkpoint that counts them are written in one `put` of many
//! keys, which the runtime applies atomically: the log never holds an event of a step that did
//! not commit.

use std::collections::BTreeMap;

use doctown_core::events::Event;
use doctown_core::job::Checkpoint;
use worker::{js_sys, ListOptions, Storage};

/// A page of the log holds at most this much JSON: a Durable Object value may be 2 MB.
const PAGE_BYTES: usize = 1 << 20;
const CHECKPOINT: &str = "checkpoint";
const LOG_PREFIX: &str = "log/";

fn page_key(first_seq: u64) -> String {
    // Zero-padded, so keys list in sequence order.
    format!("{LOG_PREFIX}{first_seq:012}")
}

pub async fn checkpoint(storage: &Storage) -> worker::Result<Option<Checkpoint>> {
    let Some(text) = storage.get::<String>(CHECKPOINT).await? else {
        return Ok(None);
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| worker::Error::RustError(format!("the stored checkpoint is unreadable: {e}")))
}

/// The logged events from `since` on, in order.
pub async fn events(storage: &Storage, since: u64) -> worker::Result<Vec<Event>> {
    let pages = storage
        .list_with_options(ListOptions::new().prefix(LOG_PREFIX))
        .await?;
    let mut out = Vec::new();
    for entry in pages.entries() {
        let pair = js_sys::Array::from(&entry?);
        let text = pair.get(1).as_string().unwrap_or_default();
        let page: Vec<Event> = serde_json::from_str(&text).map_err(|e| {
            worker::Error::RustError(format!("a stored log page is unreadable: {e}"))
        })?;
        out.extend(page.into_iter().filter(|e| e.seq >= since));
    }
    Ok(out)
}

/// Writes a step's events and the checkpoint after it, atomically.
pub async fn commit(
    storage: &Storage,
    events: &[Event],
    checkpoint: &Checkpoint,
) -> worker::Result<()> {
    let mut values = BTreeMap::new();
    values.insert(CHECKPOINT.to_owned(), to_json(checkpoint)?);
    let mut pages: Vec<(u64, Vec<String>, usize)> = Vec::new();
    for event in events {
        let line = to_json(event)?;
        match pages.last_mut() {
            Some((_, lines, size)) if *size + line.len() < PAGE_BYTES => {
                *size += line.len() + 1;
                lines.push(line);
            }
            _ => {
                let size = line.len() + 1;
                pages.push((event.seq, vec![line], size));
            }
        }
    }
    for (first, lines, _) in pages {
        values.insert(page_key(first), format!("[{}]", lines.join(",")));
    }
    // A plain object of key → JSON text (serde would make a `Map`, which storage ignores).
    let object = js_sys::Object::new();
    for (key, value) in values {
        js_sys::Reflect::set(&object, &key.into(), &value.into())?;
    }
    storage.put_multiple_raw(object).await
}

pub fn to_json<T: serde::Serialize>(value: &T) -> worker::Result<String> {
    serde_json::to_string(value).map_err(|e| worker::Error::RustError(e.to_string()))
}
