import * as path from 'node:path'
import {run} from './cli.js'

export interface TestCerts {
  ca: string
  serverKey: string
  serverCert: string
  clientKey: string
  clientCert: string
  /** A client certificate signed by another CA, which the server must refuse. */
  strangerKey: string
  strangerCert: string
}

function openssl(args: string[], cwd: string): void {
  const result = run('sh', ['-c', `cd '${cwd}' && openssl ${args.join(' ')}`])
  if (result.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${result.stderr}`)
}

/** Makes a throwaway CA, a server certificate for 127.0.0.1 and localhost, and client certificates. */
export function makeCerts(dir: string): TestCerts {
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  for (const ca of ['ca', 'other-ca']) openssl(['req', '-x509', ...key, '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-days', '2', '-subj', `/CN=${ca}`], dir)
  const issue = (name: string, ca: string, san: string) => {
    openssl(['req', ...key, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], dir)
    run('sh', ['-c', `printf 'subjectAltName=${san}\\n' > '${path.join(dir, `${name}.ext`)}'`])
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        `${ca}.crt`,
        '-CAkey',
        `${ca}.key`,
        '-CAcreateserial',
        '-out',
        `${name}.crt`,
        '-days',
        '2',
        '-extfile',
        `${name}.ext`,
      ],
      dir,
    )
  }
  issue('server', 'ca', 'IP:127.0.0.1,DNS:localhost')
  issue('client', 'ca', 'DNS:client')
  issue('stranger', 'other-ca', 'DNS:stranger')
  const at = (name: string) => path.join(dir, name)
  return {
    ca: at('ca.crt'),
    serverKey: at('server.key'),
    serverCert: at('server.crt'),
    clientKey: at('client.key'),
    clientCert: at('client.crt'),
    strangerKey: at('stranger.key'),
    strangerCert: at('stranger.crt'),
  }
}
