//! Turns the certificates and keys a parser found into an identity: the leaf is the
//! certificate that matches the key, its issuers follow, and the leaf is checked.

use std::fmt;
use std::sync::Arc;

use rustls::pki_types::PrivateKeyDer;
use rustls::sign::SigningKey;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::certificate::Certificate;
use super::check::{check_usage, check_validity, key_matches, load_key};
use super::error::IdentityError;
use super::thumbprint::Thumbprint;
use super::warning::IdentityWarning;
use super::{Identity, chain};

/// What a parser found, before any check.
#[derive(Debug, Default)]
pub(super) struct Material {
    pub certificates: Vec<Certificate>,
    pub keys: Vec<FoundKey>,
}

/// A private key and where it came from; wiped when dropped.
pub(super) struct FoundKey {
    pub origin: String,
    pub key: Zeroizing<PrivateKeyDer<'static>>,
}

impl fmt::Debug for FoundKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FoundKey")
            .field("origin", &self.origin)
            .field("key", &format_args!("[redacted]"))
            .finish()
    }
}

impl Material {
    /// Adds what another file held.
    pub fn extend(&mut self, other: Material) {
        self.certificates.extend(other.certificates);
        self.keys.extend(other.keys);
    }
}

/// Builds the identity from `material`, checking the certificate's validity at `now`.
///
/// `origin` names all the input (one file, or several) in errors that concern all of it.
pub(super) fn assemble(
    material: Material,
    origin: &str,
    now: OffsetDateTime,
) -> Result<Identity, IdentityError> {
    let Material { certificates, keys } = material;
    let certificates = without_duplicates(certificates);
    if certificates.is_empty() {
        return Err(IdentityError::NoCertificate {
            origin: origin.to_owned(),
        });
    }
    let (key, signing_key) = single_key(keys, origin)?;

    let leaf = find_leaf(&certificates, &key, &signing_key, now)?;
    let (chain, unrelated) = chain::order(leaf, &certificates);
    let leaf = &certificates[leaf];
    check_validity(leaf, now)?;

    let thumbprint = Thumbprint::of_certificate(&leaf.der);
    let mut warnings: Vec<IdentityWarning> = check_usage(leaf).into_iter().collect();
    warnings.extend(
        unrelated
            .iter()
            .map(|&index| IdentityWarning::UnrelatedCertificate {
                subject: certificates[index].subject.clone(),
            }),
    );
    for warning in &warnings {
        tracing::warn!(subject = %leaf.subject, %thumbprint, "{warning}");
    }
    tracing::debug!(
        subject = %leaf.subject,
        %thumbprint,
        not_after = %leaf.not_after,
        intermediates = chain.len().saturating_sub(1),
        "loaded the client identity"
    );

    Ok(Identity {
        chain: chain
            .iter()
            .map(|&index| certificates[index].der.clone())
            .collect(),
        key: key.key,
        thumbprint,
        subject: leaf.subject.clone(),
        not_before: leaf.not_before,
        not_after: leaf.not_after,
        warnings,
    })
}

/// The same certificate given twice (say, in the certificate file and in a bundle) counts once.
fn without_duplicates(certificates: Vec<Certificate>) -> Vec<Certificate> {
    let mut unique: Vec<Certificate> = Vec::with_capacity(certificates.len());
    for certificate in certificates {
        if !unique.iter().any(|seen| seen.der == certificate.der) {
            unique.push(certificate);
        }
    }
    unique
}

/// The one private key, loaded for signing. The same key given twice counts once.
fn single_key(
    keys: Vec<FoundKey>,
    origin: &str,
) -> Result<(FoundKey, Arc<dyn SigningKey>), IdentityError> {
    let mut distinct: Vec<(FoundKey, Arc<dyn SigningKey>)> = Vec::new();
    for found in keys {
        let signing_key = load_key(&found.key, &found.origin)?;
        let public_key = signing_key.public_key();
        let seen = public_key.is_some()
            && distinct
                .iter()
                .any(|(_, other)| other.public_key() == public_key);
        if !seen {
            distinct.push((found, signing_key));
        }
    }

    match distinct.len() {
        0 => Err(IdentityError::NoPrivateKey {
            origin: origin.to_owned(),
        }),
        1 => Ok(distinct.remove(0)),
        count => Err(IdentityError::SeveralPrivateKeys {
            origin: origin.to_owned(),
            count,
        }),
    }
}

/// The certificate that matches the key. Among several (a renewed certificate for the same
/// key), the one valid at `now` that lasts longest.
fn find_leaf(
    certificates: &[Certificate],
    key: &FoundKey,
    signing_key: &Arc<dyn SigningKey>,
    now: OffsetDateTime,
) -> Result<usize, IdentityError> {
    let mut matching = Vec::new();
    let mut failures = Vec::new();
    for (index, certificate) in certificates.iter().enumerate() {
        match key_matches(signing_key, certificate) {
            Ok(true) => matching.push(index),
            Ok(false) => {}
            Err(error) => failures.push((index, error)),
        }
    }

    let best = matching.into_iter().max_by_key(|&index| {
        let certificate = &certificates[index];
        let valid = certificate.not_before <= now && now <= certificate.not_after;
        (valid, certificate.not_after)
    });
    if let Some(leaf) = best {
        return Ok(leaf);
    }

    let likely = chain::likely_leaf(certificates);
    let certificate = &certificates[likely];
    if let Some(position) = failures.iter().position(|(index, _)| *index == likely) {
        let (_, source) = failures.swap_remove(position);
        return Err(IdentityError::UnusableCertificate {
            origin: certificate.origin.clone(),
            subject: certificate.subject.clone(),
            source,
        });
    }
    Err(IdentityError::KeyMismatch {
        key_origin: key.origin.clone(),
        certificate_origin: certificate.origin.clone(),
        subject: certificate.subject.clone(),
    })
}
