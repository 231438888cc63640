//! A job's durable state in its Durable Object's storage: the checkpoint, the event log in
//! pages, and the model's texts in pages. A step's pages and the checkpoint that counts them are
//! written in one `put` of many keys, which the runtime applies atomically: the log never holds
//! an event (nor the store a text) of a step that did not commit.

use std::collections::BTreeMap;

use doctown_core::events::Event;
use doctown_core::job::Checkpoint;
use worker::{js_sys, ListOptions, Storage};

/// A page of the log holds at most this much JSON: a Durable Object value may be 2 MB.
const PAGE_BYTES: usize = 1 << 20;
const CHECKPOINT: &str = "checkpoint";
const LOG_PREFIX: &str = "log/";
const TEXTS_PREFIX: &str = "texts/";

fn page_key(prefix: &str, first: u64) -> String {
    // Zero-padded, so keys list in order.
    format!("{prefix}{first:012}")
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
    let mut out: Vec<Event> = pages(storage, LOG_PREFIX, since).await?;
    out.retain(|e| e.seq >= since);
    Ok(out)
}

/// Every text the job's steps handed over, as (key, entry).
pub async fn texts(storage: &Storage) -> worker::Result<Vec<(String, String)>> {
    pages(storage, TEXTS_PREFIX, 0).await
}

/// The items of the pages under `prefix` that may hold item `since` or later, in order: the
/// page holding `since` (the last to start at or before it) and every page after it. Listing
/// returns values too, so the pages before are not listed at all.
async fn pages<T: serde::de::DeserializeOwned>(
    storage: &Storage,
    prefix: &str,
    since: u64,
) -> worker::Result<Vec<T>> {
    let until = page_key(prefix, since + 1);
    // From the start, one list reads every page.
    let holding = if since == 0 {
        Vec::new()
    } else {
        let options = ListOptions::new()
            .prefix(prefix)
            .end(&until)
            .reverse(true)
            .limit(1);
        list(storage, prefix, options).await?
    };
    let after = match holding.first() {
        Some((first, _)) => page_key(prefix, first + 1),
        None => page_key(prefix, 0),
    };
    let later = list(
        storage,
        prefix,
        ListOptions::new().prefix(prefix).start(&after),
    )
    .await?;
    let mut out = Vec::new();
    for (_, text) in holding.into_iter().chain(later) {
        let page: Vec<T> = serde_json::from_str(&text).map_err(|e| {
            worker::Error::RustError(format!("a stored page under {prefix} is unreadable: {e}"))
        })?;
        out.extend(page);
    }
    Ok(out)
}

/// The pages `options` lists, as (first item, JSON), in the order listed.
async fn list(
    storage: &Storage,
    prefix: &str,
    options: ListOptions<'_>,
) -> worker::Result<Vec<(u64, String)>> {
    let listed = storage.list_with_options(options).await?;
    let mut pages = Vec::new();
    for entry in listed.entries() {
        let pair = js_sys::Array::from(&entry?);
        let first = pair
            .get(0)
            .as_string()
            .and_then(|key| key[prefix.len()..].parse().ok())
            .unwrap_or(0);
        pages.push((first, pair.get(1).as_string().unwrap_or_default()));
    }
    Ok(pages)
}

/// Writes a step's events, its texts (numbered from `checkpoint.texts - texts.len()`) and the
/// checkpoint after it, atomically.
pub async fn commit(
    storage: &Storage,
    events: &[Event],
    texts: &[(String, String)],
    checkpoint: &Checkpoint,
) -> worker::Result<()> {
    let mut values = BTreeMap::new();
    values.insert(CHECKPOINT.to_owned(), to_json(checkpoint)?);
    let lines = events
        .iter()
        .map(|e| Ok((e.seq, to_json(e)?)))
        .collect::<worker::Result<Vec<_>>>()?;
    paginate(&mut values, LOG_PREFIX, lines);
    let first_text = checkpoint.texts - texts.len() as u64;
    let lines = (first_text..)
        .zip(texts)
        .map(|(n, text)| Ok((n, to_json(text)?)))
        .collect::<worker::Result<Vec<_>>>()?;
    paginate(&mut values, TEXTS_PREFIX, lines);
    // A plain object of key → JSON text (serde would make a `Map`, which storage ignores).
    let object = js_sys::Object::new();
    for (key, value) in values {
        js_sys::Reflect::set(&object, &key.into(), &value.into())?;
    }
    storage.put_multiple_raw(object).await
}

/// Puts numbered JSON `lines` into pages of at most [`PAGE_BYTES`] under `prefix`, each keyed
/// by the number of its first line.
fn paginate(values: &mut BTreeMap<String, String>, prefix: &str, lines: Vec<(u64, String)>) {
    let mut pages: Vec<(u64, Vec<String>, usize)> = Vec::new();
    for (n, line) in lines {
        match pages.last_mut() {
            Some((_, lines, size)) if *size + line.len() < PAGE_BYTES => {
                *size += line.len() + 1;
                lines.push(line);
            }
            _ => {
                let size = line.len() + 1;
                pages.push((n, vec![line], size));
            }
        }
    }
    for (first, lines, _) in pages {
        values.insert(page_key(prefix, first), format!("[{}]", lines.join(",")));
    }
}

pub fn to_json<T: serde::Serialize>(value: &T) -> worker::Result<String> {
    serde_json::to_string(value).map_err(|e| worker::Error::RustError(e.to_string()))
}
