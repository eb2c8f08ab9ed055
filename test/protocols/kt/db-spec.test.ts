import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {isKyotoSpec, kyotoNumber, kyotoSpecialOf, translateKyotoSpec} from '../../../src/protocols/kt/db-spec.js'

describe("Kyoto Tycoon's database specifications", () => {
  it('are told from kv configurations by their special paths and extensions', () => {
    for (const spec of [':', '*', '%', '+', '-', 'casket.kch', 'casket.kct#bnum=10', '/data/x.kcd']) assert.ok(isKyotoSpec(spec), spec)
    for (const spec of ['casket.tkh', '#dbm=tiny', 'casket.tkt#key_comparator=decimal', '']) assert.ok(!isKyotoSpec(spec), spec)
  })

  it('map onto kv classes, keeping expiry times unless ktopts=p', () => {
    assert.equal(translateKyotoSpec(':'), '#dbm=tiny,expiration=true')
    assert.equal(translateKyotoSpec('%'), '#dbm=baby,expiration=true')
    assert.equal(translateKyotoSpec('+'), '#dbm=stdtree,expiration=true')
    assert.equal(translateKyotoSpec('-#bnum=10'), '#dbm=stdhash,num_buckets=10,expiration=true')
    assert.equal(translateKyotoSpec('*#capcnt=1k#capsiz=1g'), '#dbm=cache,cap_rec_num=1024,cap_mem_size=1073741824,expiration=true')
    assert.equal(
      translateKyotoSpec('/data/casket.kch#bnum=1000000#opts=lc#msiz=1g#apow=4'),
      '/data/casket.kch#dbm=hash,num_buckets=1000000,record_comp_mode=zlib,align_pow=4,expiration=true',
    )
    assert.equal(translateKyotoSpec('casket.kct#ktopts=p#rcomp=dec#psiz=16k'), 'casket.kct#dbm=tree,key_comparator=decimal,max_page_size=16384')
  })

  it('refuse what kv cannot do, naming it', () => {
    assert.throws(() => translateKyotoSpec('/data/x.kcd'), /directory databases/)
    assert.throws(() => translateKyotoSpec('casket.kch#zkey=secret'), /zkey/)
    assert.throws(() => translateKyotoSpec('casket.kch#ktcapcnt=100'), /ktcapcnt/)
    assert.throws(() => translateKyotoSpec('%#capsiz=1m'), /capsiz needs a cache hash database/)
    assert.throws(() => translateKyotoSpec('casket.kch#bnum=lots'), /bnum=lots is not a number/)
    assert.throws(() => translateKyotoSpec('casket.kch#frobnicate=1'), /unknown parameter "frobnicate"/)
    assert.throws(() => translateKyotoSpec('casket.kch#zcomp=lzo'), /zcomp=lzo/)
  })

  it('name on-memory databases as Kyoto Tycoon names their kinds', () => {
    for (const special of [':', '*', '%', '-', '+']) assert.equal(kyotoSpecialOf(translateKyotoSpec(special)), special)
    assert.equal(kyotoSpecialOf('#dbm=tiny'), ':')
    assert.equal(kyotoSpecialOf('#dbm=skip'), undefined)
    assert.equal(kyotoSpecialOf('casket.tkh'), undefined)
  })

  it('read numbers with binary units', () => {
    assert.equal(kyotoNumber('1000'), 1000)
    assert.equal(kyotoNumber('2k'), 2048)
    assert.equal(kyotoNumber('1.5m'), 1572864)
    assert.equal(kyotoNumber('x'), undefined)
  })
})
