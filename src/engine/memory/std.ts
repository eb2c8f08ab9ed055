import type {InspectList} from '../dbm.js'
import {ParamReader} from '../params.js'
import {BabyDBM} from './baby.js'
import {TinyDBM} from './tiny.js'

/**
 * The reference's two on-memory classes built on its language's standard containers: a
 * hash map and an ordered map in byte order, saved as flat record files like the others.
 * Here they are the tiny and the baby database under their own names, reporting what the
 * reference reports.
 */
export class StdHashDBM extends TinyDBM {
  override readonly className: string = 'StdHashDBM'

  protected override inspectImpl(): InspectList {
    const [klass, path, , records] = this.baseInspect()
    return [klass, path, records, ...super.inspectImpl().filter(([name]) => name === 'num_buckets')]
  }
}

export class StdTreeDBM extends BabyDBM {
  override readonly className: string = 'StdTreeDBM'

  /** It takes no parameters: keys are in byte order. */
  constructor(_params?: ParamReader) {
    super(new ParamReader(new Map()))
  }

  protected override metadata(): [string, string][] {
    return []
  }

  protected override inspectImpl(): InspectList {
    return this.baseInspect()
  }
}
