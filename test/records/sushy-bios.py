"""Ironic's Redfish library (sushy) against a Redfish service: BASE CA_FILE USER PASSWORD SYSTEM
[JSON_ATTRIBUTES]. Prints the Bios as sushy reads it; with JSON_ATTRIBUTES, stages them first.
Run it without REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE: requests lets those override CA_FILE."""
import json
import sys

import sushy
from sushy import auth

base, ca, user, password, system_id = sys.argv[1:6]
root = sushy.Sushy(f'https://{base}/redfish/v1/', auth=auth.BasicAuth(user, password), verify=ca)
system = root.get_system(f'/redfish/v1/Systems/{system_id}')
bios = system.bios
if len(sys.argv) > 6:
    bios.set_attributes(json.loads(sys.argv[6]))
    bios.refresh()
print(json.dumps({
    'biosVersion': system.bios_version,
    'attributes': bios.attributes,
    'pending': bios.pending_attributes,
    'applyTimes': [str(t.value) for t in bios.supported_apply_times],
}))
