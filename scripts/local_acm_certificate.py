"""Import a throw-away self-signed certificate into ACM (moto) and print its ARN.

Real deployments issue the certificate with DNS validation outside the role; moto cannot
validate DNS, so the scenario imports one instead. Re-runs reuse the certificate by domain.
"""

import datetime
import sys

import boto3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

endpoint, region, domain = sys.argv[1:4]
acm = boto3.client("acm", endpoint_url=endpoint, region_name=region)
for summary in acm.list_certificates()["CertificateSummaryList"]:
    if summary["DomainName"] == domain:
        print(summary["CertificateArn"])
        sys.exit(0)

key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (
    x509.CertificateBuilder()
    .subject_name(name)
    .issuer_name(name)
    .public_key(key.public_key())
    .serial_number(x509.random_serial_number())
    .not_valid_before(now - datetime.timedelta(days=1))
    .not_valid_after(now + datetime.timedelta(days=30))
    .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
    .sign(key, hashes.SHA256())
)
arn = acm.import_certificate(
    Certificate=cert.public_bytes(serialization.Encoding.PEM),
    PrivateKey=key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ),
)["CertificateArn"]
print(arn)
