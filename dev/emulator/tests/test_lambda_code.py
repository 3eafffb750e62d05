"""Functions created from the same S3 object share its bytes (lambda_code.py): what they answer is
each one's own code, also when an object is overwritten or another holds other code."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile

from conftest import client_for, new_account


def code_zip(text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("bootstrap", f"#!/bin/sh\necho {text}\n")
    return buffer.getvalue()


def sha(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def create(account: str, name: str, bucket: str, key: str) -> dict:
    iam = client_for("iam", account)
    try:
        role = iam.get_role(RoleName="fn")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                    "Principal": {"Service": "lambda.amazonaws.com"}}]}))["Role"]["Arn"]
    return client_for("lambda", account).create_function(
        FunctionName=name, Runtime="provided.al2023", Handler="bootstrap", Role=role,
        Code={"S3Bucket": bucket, "S3Key": key})


def test_functions_from_one_object_and_from_others_answer_their_own_code(emulator_url):
    owner, other = new_account(), new_account()
    s3 = client_for("s3", owner)
    bucket = f"code-{owner}"
    s3.create_bucket(Bucket=bucket)
    first, second = code_zip("first"), code_zip("second")
    s3.put_object(Bucket=bucket, Key="a.zip", Body=first)
    s3.put_object(Bucket=bucket, Key="b.zip", Body=second)
    created = [create(owner, "one", bucket, "a.zip"), create(owner, "two", bucket, "a.zip"),
               create(other, "three", bucket, "a.zip"), create(owner, "four", bucket, "b.zip")]
    assert [c["CodeSha256"] for c in created] == [sha(first)] * 3 + [sha(second)]
    assert [c["CodeSize"] for c in created] == [len(first)] * 3 + [len(second)]
    # The same key with new content is new code.
    third = code_zip("third")
    s3.put_object(Bucket=bucket, Key="a.zip", Body=third)
    assert create(owner, "five", bucket, "a.zip")["CodeSha256"] == sha(third)
    lam = client_for("lambda", owner)
    updated = lam.update_function_code(FunctionName="one", S3Bucket=bucket, S3Key="b.zip")
    assert updated["CodeSha256"] == sha(second)
    assert lam.get_function_configuration(FunctionName="two")["CodeSha256"] == sha(first)
