//! What every host's chat-completions client does the same way: which replies are worth asking
//! again (429, 5xx, a dropped connection, a body that is not the JSON reply), how long to wait
//! before asking (exponential backoff with jitter; `Retry-After` honoured), and when to give up.
//! The host only sends one request ([`ChatTransport`]) and waits (reqwest and tokio in the CLI,
//! `fetch` and timers at the edge).

use std::time::Duration;

use super::llm::{ChatError, ChatRequest, ChatResponse};

/// Attempts per request (the first and three retries), as for embedding batches.
pub const MAX_ATTEMPTS: u32 = 4;
/// The first retry waits about this long; each next one twice as long, up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// A `Retry-After` longer than this is not waited for: the request fails instead.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Why one attempt failed, and whether another may succeed.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub message: String,
    pub retryable: bool,
    pub retry_after: Option<Duration>,
}

impl Failure {
    /// A failure another attempt may get past (a timeout, a dropped connection).
    pub fn retry(message: impl Into<String>, retry_after: Option<Duration>) -> Self {
        Failure {
            message: message.into(),
            retryable: true,
            retry_after,
        }
    }

    /// A failure that asking again will not change (a wrong key, a refused request).
    pub fn fatal(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            retryable: false,
            retry_after: None,
        }
    }
}

/// One attempt at a chat-completions request, and the host's timer.
#[allow(async_fn_in_trait)]
pub trait ChatTransport {
    /// Sends `request` once.
    async fn attempt(&self, request: &ChatRequest) -> Result<ChatResponse, Failure>;
    /// Waits `wait`.
    async fn sleep(&self, wait: Duration);
    /// A number in [0, 1) that differs between clients and moments, so that many clients do
    /// not retry in step.
    fn jitter(&self) -> f64;
    /// Where requests go, for error messages.
    fn endpoint(&self) -> &str;
}

/// Sends `request` through `transport`, retrying what is worth retrying; the error names the
/// endpoint, the attempts made and what the endpoint last said.
pub async fn complete<T: ChatTransport>(
    transport: &T,
    request: &ChatRequest,
) -> Result<ChatResponse, ChatError> {
    let mut attempt = 1;
    loop {
        let failure = match transport.attempt(request).await {
            Ok(reply) => return Ok(reply),
            Err(failure) => failure,
        };
        let wait = backoff(attempt, failure.retry_after, transport.jitter());
        if !failure.retryable || attempt >= MAX_ATTEMPTS || wait > MAX_BACKOFF {
            return Err(ChatError(format!(
                "{} after {attempt} attempt(s): {}",
                transport.endpoint(),
                failure.message
            )));
        }
        transport.sleep(wait).await;
        attempt += 1;
    }
}

/// The wait before retry `attempt` (1-based): doubling from the first, with up to half of it
/// again as jitter; `Retry-After` wins when given.
pub fn backoff(attempt: u32, retry_after: Option<Duration>, jitter: f64) -> Duration {
    if let Some(wait) = retry_after {
        return wait;
    }
    let base = FIRST_BACKOFF * 2u32.pow(attempt.saturating_sub(1).min(10));
    base.mul_f64(1.0 + jitter.clamp(0.0, 1.0) / 2.0)
        .min(MAX_BACKOFF)
}

/// Reads one HTTP reply of a chat-completions endpoint: its status, its `Retry-After` header
/// (seconds) and its body.
pub fn read_reply(
    status: u16,
    retry_after: Option<&str>,
    body: &[u8],
) -> Result<ChatResponse, Failure> {
    if !(200..300).contains(&status) {
        let retry_after = retry_after
            .and_then(|v| v.trim().parse::<f64>().ok())
            .and_then(|secs| Duration::try_from_secs_f64(secs).ok());
        let message = format!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(body)
                .chars()
                .take(300)
                .collect::<String>()
        );
        return Err(if status == 429 || status >= 500 {
            Failure::retry(message, retry_after)
        } else {
            Failure::fatal(message)
        });
    }
    serde_json::from_slice(body).map_err(|e| {
        Failure::retry(
            format!(
                "an unreadable reply ({e}): {:.200}",
                String::from_utf8_lossy(body)
            ),
            None,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::{Cell, RefCell};

    /// Answers each attempt from a script, and records the waits.
    struct Scripted {
        replies: RefCell<Vec<Result<ChatResponse, Failure>>>,
        waits: RefCell<Vec<Duration>>,
        attempts: Cell<u32>,
    }

    impl ChatTransport for Scripted {
        async fn attempt(&self, _: &ChatRequest) -> Result<ChatResponse, Failure> {
            self.attempts.set(self.attempts.get() + 1);
            self.replies.borrow_mut().remove(0)
        }
        async fn sleep(&self, wait: Duration) {
            self.waits.borrow_mut().push(wait);
        }
        fn jitter(&self) -> f64 {
            0.0
        }
        fn endpoint(&self) -> &str {
            "http://model"
        }
    }

    fn run(
        replies: Vec<Result<ChatResponse, Failure>>,
    ) -> (Result<ChatResponse, ChatError>, Scripted) {
        let transport = Scripted {
            replies: RefCell::new(replies),
            waits: RefCell::default(),
            attempts: Cell::new(0),
        };
        let request = ChatRequest {
            model: "m".into(),
            messages: Vec::new(),
            temperature: None,
            response_format: None,
            max_tokens: None,
            max_completion_tokens: None,
            stream: false,
        };
        let result = futures::executor::block_on(complete(&transport, &request));
        (result, transport)
    }

    fn ok() -> Result<ChatResponse, Failure> {
        read_reply(
            200,
            None,
            br#"{"choices": [{"message": {"role": "assistant", "content": "{}"}}]}"#,
        )
    }

    #[test]
    fn busy_and_broken_replies_are_retried_with_backoff_and_retry_after() {
        let (result, t) = run(vec![
            read_reply(429, Some("3"), b"slow down"),
            read_reply(502, None, b"bad gateway"),
            read_reply(200, None, b"<html>proxy</html>"),
            ok(),
        ]);
        assert!(result.is_ok());
        assert_eq!(t.attempts.get(), 4);
        assert_eq!(
            *t.waits.borrow(),
            [
                Duration::from_secs(3),
                Duration::from_secs(1),
                Duration::from_secs(2)
            ]
        );
    }

    #[test]
    fn a_refused_request_fails_at_once_and_a_failing_one_after_four_attempts() {
        let (result, t) = run(vec![read_reply(401, None, b"Incorrect API key")]);
        let message = result.unwrap_err().0;
        assert!(
            message.contains("http://model after 1 attempt(s): HTTP 401"),
            "{message}"
        );
        assert_eq!(t.attempts.get(), 1);

        let (result, t) = run((0..4).map(|_| read_reply(500, None, b"")).collect());
        assert!(result.unwrap_err().0.contains("after 4 attempt(s)"));
        assert_eq!(t.attempts.get(), 4);

        // A wait past the longest allowed is not waited for.
        let (result, t) = run(vec![read_reply(429, Some("3600"), b"")]);
        assert!(result.is_err());
        assert!(t.waits.borrow().is_empty());
    }
}
