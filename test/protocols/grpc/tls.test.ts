import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {Code, StatusError} from '../../../src/engine/status.js'
import {RemoteDBM} from '../../../src/client/remote-dbm.js'
import {makeCerts, type TestCerts} from '../../helpers/certs.js'
import {hasProgram, tempDir} from '../../helpers/cli.js'
import {startServer, type RunningServer} from '../../helpers/server.js'

const skip = hasProgram('openssl') ? false : 'openssl is not installed (needed to make test certificates)'

describe('kv serve with mutual TLS', {skip}, () => {
  let cleanup: () => void
  let certs: TestCerts
  let server: RunningServer
  before(async () => {
    let dir: string
    ;({dir, cleanup} = tempDir())
    certs = makeCerts(dir)
    server = await startServer(['--auth', `ssl:key=${certs.serverKey},cert=${certs.serverCert},root=${certs.ca}`])
  })
  after(async () => {
    await server.stop()
    cleanup()
  })

  it('accepts a client with a certificate signed by the root', async () => {
    const db = await RemoteDBM.connect(server.address, {timeout: 10, auth: `ssl:key=${certs.clientKey},cert=${certs.clientCert},root=${certs.ca}`})
    assert.equal(await db.echo('over TLS'), 'over TLS')
    await db.set('secret', 'kept')
    assert.deepEqual(await db.get('secret'), Buffer.from('kept'))
    db.close()
  })

  it('refuses a client whose certificate another CA signed', async () => {
    await assert.rejects(
      RemoteDBM.connect(server.address, {timeout: 2, auth: `ssl:key=${certs.strangerKey},cert=${certs.strangerCert},root=${certs.ca}`}).then((db) =>
        db.echo('x'),
      ),
      (error: unknown) => error instanceof StatusError && error.code === Code.NETWORK_ERROR,
    )
  })

  it('refuses a client without TLS', async () => {
    await assert.rejects(
      RemoteDBM.connect(server.address, {timeout: 2}).then((db) => db.echo('x')),
      (error: unknown) => error instanceof StatusError && error.code === Code.NETWORK_ERROR,
    )
  })

  it('names a missing certificate file plainly', async () => {
    await assert.rejects(
      RemoteDBM.connect(server.address, {timeout: 2, auth: 'ssl:key=/nonexistent.key,cert=x,root=y'}),
      /auth: cannot read key file \/nonexistent\.key/,
    )
  })
})
