//! `reged call`: one API request, body to stdout.

use bytes::Bytes;
use reged_auth::http::{ApiRequest, HEADERS_SET_BY_THE_CLIENT};
use reqwest::Method;
use reqwest::header::{HeaderName, HeaderValue, LOCATION};

use crate::cli::ClientArgs;
use crate::exit;
use crate::failure::Failure;
use crate::input_file::{BODY_LIMIT, Unread, read_all_at_most, size_of_limit};
use crate::output::{eprint_line, write_stdout};
use crate::settings::build_client;

pub async fn run(
    args: &ClientArgs,
    method: &str,
    path: &str,
    data: Option<&str>,
    headers: &[String],
    include: bool,
) -> Result<(), Failure> {
    let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
        .map_err(|_| Failure::config(format!("`{method}` is not an HTTP method")))?;
    check_path_length(path)?;
    let mut request = ApiRequest::new(method, path);
    for header in headers {
        let (name, value) = parse_header(header)?;
        request.headers.append(name, value);
    }
    request.body = data.map(read_body).transpose()?;
    let client = build_client(args)?;
    let shown_path = path.split('?').next().unwrap_or_default();

    let mut response = client.send(&request).await?;
    let status = response.status();
    if include {
        eprint_line(&format!("{:?} {status}", response.version()));
        for (name, value) in response.headers() {
            eprint_line(&format!(
                "{name}: {}",
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
        eprint_line("");
    }
    if status.is_redirection() {
        let location = response
            .headers()
            .get(LOCATION)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
            .unwrap_or_else(|| "no Location".into());
        return Err(Failure::new(
            exit::API_STATUS,
            format!(
                "the API answered HTTP {status} to {} {shown_path}, redirecting to {location}; \
                 reged does not follow redirects, so the token stays with the API's host",
                request.method
            ),
        ));
    }

    // Streamed, so a large body is not held in memory; each chunk is flushed as it comes, so a
    // body cut short leaves on stdout all that arrived.
    let announced = response
        .content_length()
        .map(|length| format!(" of the {length} announced"))
        .unwrap_or_default();
    let mut written: u64 = 0;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                write_stdout(&chunk)?;
                written += chunk.len() as u64;
            }
            Ok(None) => break,
            Err(error) => {
                return Err(Failure::with_cause(
                    exit::API_UNREACHABLE,
                    format!(
                        "the response body of {} {shown_path} was cut after {written} \
                         bytes{announced}; what arrived is on standard output",
                        request.method
                    ),
                    error.without_url(),
                ));
            }
        }
    }

    if status.is_client_error() || status.is_server_error() {
        return Err(Failure::new(
            exit::API_STATUS,
            format!(
                "the API answered HTTP {status} to {} {shown_path}",
                request.method
            ),
        ));
    }
    Ok(())
}

fn parse_header(header: &str) -> Result<(HeaderName, HeaderValue), Failure> {
    let bad = || Failure::config(format!("-H `{header}`: expected `Name: value`"));
    let (name, value) = header.split_once(':').ok_or_else(bad)?;
    let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| bad())?;
    let value = HeaderValue::from_str(value.trim()).map_err(|_| bad())?;
    // The library would replace Authorization; refusing it says so before anything is sent.
    if HEADERS_SET_BY_THE_CLIENT.contains(&name.as_str()) {
        return Err(Failure::config(format!(
            "-H `{name}`: reged sets this header itself; leave it out"
        )));
    }
    Ok((name, value))
}

/// `-d DATA`, `-d @FILE` or `-d @-` (standard input), read up to [`BODY_LIMIT`].
fn read_body(data: &str) -> Result<Bytes, Failure> {
    let Some(source) = data.strip_prefix('@') else {
        return Ok(Bytes::copy_from_slice(data.as_bytes()));
    };
    let (read, what) = if source == "-" {
        (
            read_all_at_most(std::io::stdin().lock(), BODY_LIMIT),
            "standard input",
        )
    } else {
        let read = std::fs::File::open(source)
            .map_err(Unread::Io)
            .and_then(|file| read_all_at_most(file, BODY_LIMIT));
        (read, "the file")
    };

    read.map(Bytes::from).map_err(|unread| match unread {
        Unread::Io(error) => {
            Failure::config(format!("-d @{source}: could not read {what}: {error}"))
        }
        Unread::TooLarge => Failure::config(format!(
            "-d @{source}: {what} holds more than {}, the largest request body reged sends",
            size_of_limit(BODY_LIMIT)
        )),
    })
}

/// The longest API path (with its query) sent: 8 KiB, what servers commonly accept in a
/// request line.
const PATH_LIMIT: usize = 8 * 1024;

/// Refuses a path too long for any server, saying how long it is rather than showing it.
fn check_path_length(path: &str) -> Result<(), Failure> {
    if path.len() > PATH_LIMIT {
        return Err(Failure::config(format!(
            "the API path is {} bytes long, more than the limit of {} bytes",
            path.len(),
            PATH_LIMIT
        )));
    }
    Ok(())
}
