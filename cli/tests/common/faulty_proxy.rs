//! A TCP proxy that misbehaves on its first connections, in front of a real server: it drops a
//! connection without a word, answers 500 itself, or holds a request before passing it on.
//! Connections after the scripted ones pass straight through.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does with one connection.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// Reads the request, then closes the connection with no reply.
    Drop,
    /// Reads the request and answers `500 Internal Server Error`.
    ServerError,
    /// Waits this long, then passes the connection on.
    Delay(Duration),
}

/// Starts the proxy to `upstream` (`http://HOST:PORT`) with `script` for its first connections,
/// in order; returns its base URL and the count of connections it took.
pub async fn serve(upstream: &str, script: Vec<Fault>) -> (String, Arc<AtomicUsize>) {
    let upstream: SocketAddr = upstream
        .trim_start_matches("http://")
        .parse()
        .expect("an http://HOST:PORT upstream");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let taken = Arc::new(AtomicUsize::new(0));
    let count = taken.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let n = count.fetch_add(1, Ordering::SeqCst);
            let fault = script.get(n).copied();
            tokio::spawn(async move {
                match fault {
                    Some(Fault::Drop) => {
                        read_request(&mut client).await;
                    }
                    Some(Fault::ServerError) => {
                        read_request(&mut client).await;
                        let reply = "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
                        let _ = client.write_all(reply.as_bytes()).await;
                    }
                    Some(Fault::Delay(pause)) => {
                        tokio::time::sleep(pause).await;
                        pass(client, upstream).await;
                    }
                    None => pass(client, upstream).await,
                }
            });
        }
    });
    (url, taken)
}

/// Reads one HTTP/1.1 request: its head, then `content-length` bytes of body.
async fn read_request(stream: &mut TcpStream) {
    let mut data = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let Ok(n) = stream.read(&mut buf).await else {
            return;
        };
        if n == 0 {
            return;
        }
        data.extend_from_slice(&buf[..n]);
        let Some(head_end) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&data[..head_end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        if data.len() >= head_end + 4 + length {
            return;
        }
    }
}

async fn pass(mut client: TcpStream, upstream: SocketAddr) {
    if let Ok(mut server) = TcpStream::connect(upstream).await {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
    }
}
