//! `reged call`: one API request, body to stdout.

use std::io::Read;

use bytes::Bytes;
use reged_auth::http::ApiRequest;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HOST, HeaderName, HeaderValue, LOCATION};

use crate::cli::ClientArgs;
use crate::exit;
use crate::failure::Failure;
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
    // The API base decides the host, and reged the credentials; a header that overrode either
    // could send the token where it should not go.
    if name == HOST || name == AUTHORIZATION {
        return Err(Failure::config(format!(
            "-H `{name}`: reged sets this header itself; leave it out"
        )));
    }
    Ok((name, value))
}

/// `-d DATA`, `-d @FILE` or `-d @-` (standard input).
fn read_body(data: &str) -> Result<Bytes, Failure> {
    let Some(source) = data.strip_prefix('@') else {
        return Ok(Bytes::copy_from_slice(data.as_bytes()));
    };
    if source == "-" {
        let mut body = Vec::new();
        std::io::stdin().read_to_end(&mut body).map_err(|error| {
            Failure::config(format!("-d @-: could not read standard input: {error}"))
        })?;
        return Ok(body.into());
    }
    std::fs::read(source)
        .map(Bytes::from)
        .map_err(|error| Failure::config(format!("-d @{source}: could not read the file: {error}")))
}
