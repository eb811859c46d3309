// The BMC body and view: the password goes in, never out.
export const bmcView = {
  type: ['object', 'null'],
  description: "The machine's BMC (out-of-band power); its password is stored sealed and never shown",
  properties: {
    driver: { type: 'string', enum: ['ipmi', 'redfish'] },
    address: { type: 'string' },
    username: { type: 'string' },
    systemId: { type: ['string', 'null'] },
    insecureTls: { type: 'boolean' },
    caCert: { type: ['string', 'null'], description: 'Redfish: the pinned CA (PEM), public' },
    updatedAt: { type: 'string' },
  },
} as const;

export const bmcBody = {
  type: 'object',
  additionalProperties: false,
  required: ['driver', 'address', 'username', 'password'],
  properties: {
    driver: { type: 'string', enum: ['ipmi', 'redfish'] },
    address: { type: 'string', maxLength: 255, description: 'host or host:port (IPv6 in brackets)' },
    username: { type: 'string', minLength: 1, maxLength: 64 },
    password: { type: 'string', minLength: 1, maxLength: 128, description: 'stored sealed; never returned or logged' },
    systemId: { type: ['string', 'null'], maxLength: 128, description: 'Redfish: the ComputerSystem id' },
    insecureTls: { type: 'boolean', description: "Redfish: accept the BMC's self-signed certificate" },
    caCert: {
      type: ['string', 'null'],
      maxLength: 16384,
      description: "Redfish: PEM CA (or the BMC's own certificate) to trust for this BMC, instead of insecureTls",
    },
  },
} as const;
