//! The order certificates are sent in: the client certificate, then each issuer up the chain.

use super::certificate::Certificate;

/// The chain from `leaf` upwards, as indices into `certificates`, and the certificates left
/// out of it.
///
/// Each step takes the given certificate whose subject is the current one's issuer. The walk
/// stops at a self-issued certificate: a root, which the server must already trust, so it is
/// left out of the chain without being counted as unrelated.
pub(super) fn order(leaf: usize, certificates: &[Certificate]) -> (Vec<usize>, Vec<usize>) {
    let mut used = vec![false; certificates.len()];
    let mut chain = Vec::new();
    if leaf >= certificates.len() {
        return (chain, Vec::new());
    }
    used[leaf] = true;
    chain.push(leaf);

    let mut current = leaf;
    while !certificates[current].is_self_issued() {
        let issuer = (0..certificates.len()).find(|&index| {
            !used[index] && certificates[current].is_issued_by(&certificates[index])
        });
        let Some(issuer) = issuer else {
            break;
        };
        used[issuer] = true;
        if certificates[issuer].is_self_issued() {
            break;
        }
        chain.push(issuer);
        current = issuer;
    }

    let unrelated = (0..certificates.len())
        .filter(|&index| !used[index])
        .collect();
    (chain, unrelated)
}

/// The certificate most likely meant as the client certificate: the first that is not a CA and
/// issued none of the others.
pub(super) fn likely_leaf(certificates: &[Certificate]) -> usize {
    let issued_nothing = |candidate: &Certificate| {
        !certificates
            .iter()
            .any(|other| !other.is_self_issued() && other.is_issued_by(candidate))
    };
    certificates
        .iter()
        .position(|candidate| !candidate.is_ca && issued_nothing(candidate))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use rustls::pki_types::CertificateDer;

    use super::*;

    fn certificate(pem: &str) -> Certificate {
        let der = pem::parse(pem)
            .map(pem::Pem::into_contents)
            .unwrap_or_default();
        Certificate::parse(CertificateDer::from(der), "test.pem", 1).expect("the fixture parses")
    }

    fn fixtures() -> Vec<Certificate> {
        vec![
            certificate(include_str!("../../tests/fixtures/identity/rsa-root.pem")),
            certificate(include_str!("../../tests/fixtures/identity/ec-client.pem")),
            certificate(include_str!(
                "../../tests/fixtures/identity/rsa-intermediate.pem"
            )),
            certificate(include_str!("../../tests/fixtures/identity/rsa-client.pem")),
        ]
    }

    #[test]
    fn chain_goes_up_from_the_leaf_and_leaves_out_the_root() {
        let certificates = fixtures();

        let (chain, unrelated) = order(3, &certificates);

        assert_eq!(chain, vec![3, 2]);
        assert_eq!(unrelated, vec![1]);
    }

    #[test]
    fn likely_leaf_is_the_first_end_entity_certificate() {
        assert_eq!(likely_leaf(&fixtures()), 1);
        assert_eq!(likely_leaf(&[]), 0);
    }

    #[test]
    fn out_of_range_leaf_gives_an_empty_chain() {
        assert_eq!(order(9, &fixtures()), (vec![], vec![]));
    }
}
