// The mediasoup events of EmulatorJS-SFU clients (families B and C) on the
// signaling table, with the exact ack shapes of the wire contract.
import type { Connection, SignalingApi } from '../signaling/index.ts'
import type { IceInfo } from './ice.ts'
import type { SfuService } from './service.ts'
import {
  ConnectTransportPayload, ConsumeDataPayload, ConsumePayload, CreateTransportPayload, EmptyPayload,
  ProduceDataPayload, ProducePayload, TransportPayload
} from './schema.ts'

export function defineSfuEvents (signaling: SignalingApi, service: SfuService, ice: (connection: Connection) => IceInfo): void {
  // Single-argument ack `{ available }`: the client waits 5 s for it.
  signaling.define({ name: 'sfu-available', schema: EmptyPayload, ack: 'value', handler: () => ({ available: service.available }) })
  signaling.define({ name: 'sfu-get-ice-servers', schema: EmptyPayload, handler: (_payload, connection) => ice(connection) })
  signaling.define({ name: 'sfu-get-router-rtp-capabilities', schema: EmptyPayload, handler: () => service.routerRtpCapabilities() })
  signaling.define({ name: 'sfu-create-transport', schema: CreateTransportPayload, handler: (payload, connection) => service.createTransport(connection, payload.direction) })
  signaling.define({
    name: 'sfu-connect-transport',
    schema: ConnectTransportPayload,
    handler: (payload, connection) => service.connectTransport(connection, payload.transportId, payload.dtlsParameters)
  })
  signaling.define({ name: 'sfu-produce', schema: ProducePayload, handler: (payload, connection) => service.produce(connection, payload) })
  signaling.define({ name: 'producedata', aliases: ['sfu-produce-data'], schema: ProduceDataPayload, handler: (payload, connection) => service.produceData(connection, payload) })
  signaling.define({ name: 'sfu-get-producers', schema: EmptyPayload, handler: (_payload, connection) => service.producers(connection) })
  signaling.define({ name: 'sfu-get-data-producers', schema: EmptyPayload, handler: (_payload, connection) => service.dataProducers(connection) })
  signaling.define({ name: 'sfu-consume', schema: ConsumePayload, handler: (payload, connection) => service.consume(connection, payload) })
  signaling.define({ name: 'consumedata', aliases: ['sfu-consume-data'], schema: ConsumeDataPayload, handler: (payload, connection) => service.consumeData(connection, payload) })
  signaling.define({ name: 'sfu-restart-ice', schema: TransportPayload, handler: (payload, connection) => service.restartIce(connection, payload.transportId) })
  signaling.define({ name: 'sfu-recreate-transports', schema: EmptyPayload, handler: (_payload, connection) => service.recreateTransports(connection) })
}
