/**
 * SigV4 signing against the worked examples of the AWS S3 documentation ("Signature Calculations for
 * the Authorization Header" and "Authenticating Requests: Using Query Parameters"): same inputs, the
 * signatures AWS publishes. The real-server checks are in test/integration/s3-signing.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Signer, objectPath, queryString, uriEncode } from '../../src/storage/sigv4.js';
import { largestUnknownSize, partSizer } from '../../src/storage/parts.js';
import { unescapeXml, xmlBlocks, xmlText } from '../../src/storage/s3-http.js';

const aws = new Signer({
  accessKey: 'AKIAIOSFODNN7EXAMPLE',
  secretKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  region: 'us-east-1',
});
const when = new Date(Date.UTC(2013, 4, 24, 0, 0, 0));
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

describe('SigV4 (the AWS documentation examples)', () => {
  it('GET with a Range header: the published Authorization header', () => {
    const headers: Record<string, string> = { host: 'examplebucket.s3.amazonaws.com', range: 'bytes=0-9' };
    aws.sign('GET', '/test.txt', [], headers, EMPTY_SHA256, when);
    assert.equal(headers['x-amz-date'], '20130524T000000Z');
    assert.equal(
      headers.authorization,
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, ' +
        'SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, ' +
        'Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    );
  });

  it('GET bucket lifecycle (a bare query parameter) and ListObjects (sorted, encoded query)', () => {
    const lifecycle: Record<string, string> = { host: 'examplebucket.s3.amazonaws.com' };
    aws.sign('GET', '/', [['lifecycle', '']], lifecycle, EMPTY_SHA256, when);
    assert.match(
      lifecycle.authorization ?? '',
      /Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543$/,
    );
    const list: Record<string, string> = { host: 'examplebucket.s3.amazonaws.com' };
    aws.sign(
      'GET',
      '/',
      [
        ['prefix', 'J'],
        ['max-keys', '2'],
      ],
      list,
      EMPTY_SHA256,
      when,
    );
    assert.match(
      list.authorization ?? '',
      /Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7$/,
    );
  });

  it('a presigned GET URL: the published X-Amz-Signature', () => {
    const url = aws.presign(new URL('https://examplebucket.s3.amazonaws.com'), 'GET', '/test.txt', 86400, when);
    assert.equal(
      url.searchParams.get('X-Amz-Signature'),
      'aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404',
    );
    assert.equal(url.searchParams.get('X-Amz-Credential'), 'AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request');
    assert.equal(url.pathname, '/test.txt');
  });

  it('encodes keys per segment, keeps the slashes, and escapes what RFC 3986 reserves', () => {
    assert.equal(objectPath('b', 'a b/c+d/ü!*.graph'), '/b/a%20b/c%2Bd/%C3%BC%21%2A.graph');
    assert.equal(uriEncode("~-._!'()*"), '~-._%21%27%28%29%2A');
    assert.equal(
      queryString([
        ['uploads', ''],
        ['uploadId', 'a/b=c'],
      ]),
      'uploads&uploadId=a%2Fb%3Dc',
    );
  });
});

describe('multipart part sizes', () => {
  const MIB = 1024 * 1024;
  it('a known size keeps one part size: the minimum, or what fits 10,000 parts', () => {
    assert.equal(partSizer(16 * 1024 * MIB, 8 * MIB)(1), 8 * MIB);
    assert.equal(partSizer(16 * 1024 * MIB, 8 * MIB)(2048), 8 * MIB);
    assert.equal(partSizer(200 * 1024 * MIB, 8 * MIB)(1), 21 * MIB);
  });
  it('an unknown size starts at the minimum and doubles every 2,500 parts, up to 293 GiB at 8 MiB', () => {
    const size = partSizer(undefined, 8 * MIB);
    assert.deepEqual(
      [1, 2500, 2501, 5001, 7501, 10000].map((n) => size(n) / MIB),
      [8, 8, 16, 32, 64, 64],
    );
    assert.equal(largestUnknownSize(8 * MIB) / 1024 / MIB, 292.96875);
  });
});

describe('the XML the S3 store reads', () => {
  it('reads elements and entities as S3 writes them', () => {
    const xml =
      '<ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>a&amp;b&lt;&#x20;&#65;.graph</Key><Size>7</Size></Contents>' +
      '<Contents><Key>c</Key><Size>0</Size></Contents><NextContinuationToken>t/1=</NextContinuationToken></ListBucketResult>';
    const entries = xmlBlocks(xml, 'Contents');
    assert.deepEqual(
      entries.map((e) => xmlText(e, 'Key')),
      ['a&b< A.graph', 'c'],
    );
    assert.deepEqual(
      entries.map((e) => xmlText(e, 'Size')),
      ['7', '0'],
    );
    assert.equal(xmlText(xml, 'NextContinuationToken'), 't/1=');
    assert.equal(xmlText(xml, 'Missing'), undefined);
    assert.equal(unescapeXml('&quot;etag&quot;'), '"etag"');
  });
});
