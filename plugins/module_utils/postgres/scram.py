# -*- coding: utf-8 -*-
# Copyright: (c) 2025, llm_saas platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Client-side SCRAM-SHA-256 verifiers, so a cleartext password never reaches the server.

PostgreSQL stores a string of the form ``SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>``
verbatim when it is given as the role password, which keeps the cleartext out of server
logs, pg_stat_statements and our own ``queries`` output.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import stringprep
import unicodedata

DEFAULT_ITERATIONS = 4096  # PostgreSQL's scram_iterations default


def _saslprep(password):
    """RFC 4013 SASLprep as PostgreSQL applies it (pg_saslprep).

    PostgreSQL falls back to the raw bytes when the string is not valid for SASLprep,
    so do the same rather than refuse: the server verifies either way.
    """
    if password.isascii():
        # pg_saslprep leaves pure-ASCII input untouched (including control characters).
        return password.encode('utf-8')
    chars = []
    for ch in password:
        if stringprep.in_table_c12(ch):
            chars.append(' ')
        elif not stringprep.in_table_b1(ch):
            chars.append(ch)
    text = unicodedata.normalize('NFKC', ''.join(chars))
    if not text:
        return password.encode('utf-8')
    prohibited = (stringprep.in_table_c12, stringprep.in_table_c21_c22, stringprep.in_table_c3,
                  stringprep.in_table_c4, stringprep.in_table_c5, stringprep.in_table_c6,
                  stringprep.in_table_c7, stringprep.in_table_c8, stringprep.in_table_c9,
                  stringprep.in_table_a1)
    if any(check(ch) for ch in text for check in prohibited):
        return password.encode('utf-8')
    if any(stringprep.in_table_d1(ch) for ch in text):
        if not (stringprep.in_table_d1(text[0]) and stringprep.in_table_d1(text[-1])):
            return password.encode('utf-8')
        if any(stringprep.in_table_d2(ch) for ch in text):
            return password.encode('utf-8')
    return text.encode('utf-8')


def scram_sha256_verifier(password, salt=None, iterations=DEFAULT_ITERATIONS):
    """Return the PostgreSQL SCRAM-SHA-256 verifier for ``password``."""
    if salt is None:
        salt = os.urandom(16)
    salted = hashlib.pbkdf2_hmac('sha256', _saslprep(password), salt, iterations)
    client_key = hmac.new(salted, b'Client Key', hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b'Server Key', hashlib.sha256).digest()

    def b64(data):
        return base64.b64encode(data).decode('ascii')
    return 'SCRAM-SHA-256$%d:%s$%s:%s' % (iterations, b64(salt), b64(stored_key), b64(server_key))
