/** RFC 6842: the client identifier (option 61) comes back in every OFFER, ACK and NAK. */
import t from 'tap';
import { Opt } from '../../src/dhcp/options.js';
import { CLIENT_SHAPES, ip } from '../helpers/dhcp-packets.js';
import { makeRig, SERVER_IP } from '../helpers/dhcp-rig.js';

const MAC = '52:54:00:00:00:61';
const CLIENT_ID = [0xff, 0x00, 0x01, 0x02, 0x03, 0xde, 0xad, 0xbe, 0xef]; // RFC 4361 style, not the MAC
const withId = [Opt.CLIENT_ID, CLIENT_ID] as const;

t.test('authoritative: OFFER, ACK and NAK echo option 61 unchanged', async (t) => {
  const rig = makeRig();
  t.teardown(rig.close);
  const [offer] = await rig.send({ type: 1, mac: MAC, options: [withId] });
  t.same([...(offer?.opt(Opt.CLIENT_ID) ?? [])], CLIENT_ID, 'OFFER');
  const [ack] = await rig.send({
    type: 3,
    mac: MAC,
    options: [withId, [Opt.SERVER_ID, ip(SERVER_IP)], [Opt.REQUESTED_IP, ip(offer!.packet.yiaddr)]],
  });
  t.equal(ack?.type, 'ACK');
  t.same([...(ack?.opt(Opt.CLIENT_ID) ?? [])], CLIENT_ID, 'ACK');
  const [nak] = await rig.send({ type: 3, mac: MAC, options: [withId, [Opt.REQUESTED_IP, ip('10.253.9.9')]] });
  t.equal(nak?.type, 'NAK');
  t.same([...(nak?.opt(Opt.CLIENT_ID) ?? [])], CLIENT_ID, 'NAK');
  const [inform] = await rig.send({ type: 8, mac: MAC, ciaddr: '10.253.0.50', options: [withId] });
  t.same([...(inform?.opt(Opt.CLIENT_ID) ?? [])], CLIENT_ID, 'ACK to INFORM');
});

t.test('no option 61 in the request, none in the reply', async (t) => {
  const rig = makeRig();
  t.teardown(rig.close);
  const [offer] = await rig.send({ type: 1, mac: MAC });
  t.equal(offer?.type, 'OFFER');
  t.equal(offer?.opt(Opt.CLIENT_ID), undefined);
});

t.test('proxy: the proxy OFFER echoes option 61 too', async (t) => {
  const rig = makeRig({ mode: 'proxy', pool: undefined });
  t.teardown(rig.close);
  const [offer] = await rig.send({ type: 1, mac: MAC, options: CLIENT_SHAPES.ovmfPxe([withId]) });
  t.equal(offer?.type, 'OFFER');
  t.same([...(offer?.opt(Opt.CLIENT_ID) ?? [])], CLIENT_ID);
});
