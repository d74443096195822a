# Configuration labels as the papers name them (bench label -> figure label).
name(c) = c eq "nonnested" ? "non-nested" : \
          c eq "nested" ? "nested (conventional)" : \
          c eq "vsbypass-net" ? "VSBypass (UDP, paper)" : \
          c eq "vsbypass-vport" ? "VSBypass (virtio-serial)" : c
