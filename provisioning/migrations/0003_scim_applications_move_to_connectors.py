# SCIM applications and their operations moved to connector targets, mappings and effects (connectors 0002).

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('provisioning', '0002_request_record_moves_to_assignments'),
        # The data migration reads the applications and their pending operations first.
        ('connectors', '0002_scim_applications_become_connector_targets'),
    ]

    operations = [
        migrations.DeleteModel(name='ScimOperation'),
        migrations.DeleteModel(name='ScimApplication'),
    ]
